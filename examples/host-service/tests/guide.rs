//! docs/reuse.md quotes this crate instead of restating it: every `rust` or `toml` code block
//! in the guide follows a marker `<!-- quote: PATH REGION -->` and must equal the lines between
//! `guide:begin REGION` and `guide:end REGION` in PATH (relative to the repository root), and
//! every region of this crate is quoted. The guide's `#[non_exhaustive]` list (the line after
//! `<!-- check: non_exhaustive -->`) must name every such enum of `warden-domain`.

// A test reports a broken promise by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

const QUOTE: &str = "<!-- quote: ";
const NON_EXHAUSTIVE: &str = "<!-- check: non_exhaustive -->";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn guide() -> String {
    read(&root().join("docs/reuse.md"))
}

/// The files under `dir` whose name ends with one of `ends`, recursively.
fn files(dir: &Path, ends: &[&str], found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() && !path.ends_with("target") {
            files(&path, ends, found);
        } else if ends.iter().any(|end| path.to_string_lossy().ends_with(end)) {
            found.push(path);
        }
    }
}

/// This crate's place in the repository, which the guide's markers name.
const CRATE_DIR: &str = "examples/host-service";

/// The region a comment line `// guide:begin NAME` (`# ` in TOML) opens (`what` = "begin") or
/// closes ("end").
fn marker<'a>(line: &'a str, what: &str) -> Option<&'a str> {
    let comment = line.trim();
    let comment = comment
        .strip_prefix("// ")
        .or_else(|| comment.strip_prefix("# "))?;
    comment
        .strip_prefix("guide:")?
        .strip_prefix(what)?
        .strip_prefix(' ')
}

/// The text of `region` in `source`, without its common indentation.
fn region(source: &str, name: &str) -> Option<String> {
    let is = |line: &str, what: &str| marker(line, what) == Some(name);
    let mut lines = source.lines().skip_while(|l| !is(l, "begin"));
    lines.next()?;
    let body: Vec<&str> = lines.take_while(|l| !is(l, "end")).collect();
    let indent = body
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let body: Vec<&str> = body.iter().map(|l| l.get(indent..).unwrap_or("")).collect();
    Some(body.join("\n"))
}

/// Every region named in the files of this crate, as `(path from the root, name)`.
fn regions() -> BTreeSet<(String, String)> {
    let mut paths = Vec::new();
    files(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &[".rs", "Cargo.toml"],
        &mut paths,
    );
    let mut found = BTreeSet::new();
    for path in paths {
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let relative = path.strip_prefix(manifest_dir).unwrap_or(&path);
        let relative = format!("{CRATE_DIR}/{}", relative.to_string_lossy());
        for line in read(&path).lines() {
            if let Some(name) = marker(line, "begin") {
                found.insert((relative.clone(), name.to_owned()));
            }
        }
    }
    found
}

#[test]
fn every_code_block_of_the_guide_quotes_this_crate_as_it_is() {
    let guide = guide();
    let lines: Vec<&str> = guide.lines().collect();
    let mut quoted = BTreeSet::new();
    let mut problems = Vec::new();
    for (at, line) in lines.iter().enumerate() {
        let fence = line.trim_start();
        let code = fence.starts_with("```rust") || fence.starts_with("```toml");
        let marker = at
            .checked_sub(1)
            .and_then(|before| lines[before].trim().strip_prefix(QUOTE))
            .and_then(|rest| rest.strip_suffix("-->"));
        if code && marker.is_none() {
            problems.push(format!("line {}: a code block that quotes nothing", at + 1));
            continue;
        }
        let Some((path, name)) = marker.and_then(|m| m.trim().split_once(' ')) else {
            continue;
        };
        let block: Vec<&str> = lines[at + 1..]
            .iter()
            .take_while(|l| !l.trim_start().starts_with("```"))
            .copied()
            .collect();
        let block = block.join("\n");
        quoted.insert((path.to_owned(), name.to_owned()));
        match region(&read(&root().join(path)), name) {
            None => problems.push(format!("line {}: no region {name} in {path}", at + 1)),
            Some(source) if source != block => problems.push(format!(
                "line {}: the guide's {path} {name} differs from the file.\n--- file:\n{source}\n--- guide:\n{block}",
                at + 1
            )),
            Some(_) => {}
        }
    }
    for (path, name) in regions().difference(&quoted) {
        problems.push(format!("{path} {name}: a region the guide does not quote"));
    }
    assert!(quoted.len() >= 5, "the guide quotes too little: {quoted:?}");
    assert!(
        problems.is_empty(),
        "docs/reuse.md:\n{}",
        problems.join("\n\n")
    );
}

#[test]
fn the_guide_lists_every_non_exhaustive_enum_of_the_domain() {
    let mut sources = Vec::new();
    files(
        &root().join("crates/warden-domain/src"),
        &[".rs"],
        &mut sources,
    );
    let mut enums = BTreeSet::new();
    for path in sources {
        let text = read(&path);
        let mut lines = text.lines().map(str::trim);
        while let Some(line) = lines.next() {
            if line == "#[non_exhaustive]" {
                let item = lines.by_ref().find(|l| !l.starts_with("#[")).unwrap_or("");
                if let Some(name) = item.strip_prefix("pub enum ") {
                    enums.insert(name.trim_end_matches(" {").to_owned());
                }
            }
        }
    }
    let guide = guide();
    let list = guide
        .lines()
        .skip_while(|l| l.trim() != NON_EXHAUSTIVE)
        .nth(1)
        .expect("the guide's non_exhaustive marker");
    let missing: Vec<_> = enums
        .iter()
        .filter(|name| !list.contains(&format!("`{name}`")))
        .collect();
    assert!(enums.len() > 10, "found too few: {enums:?}");
    assert!(
        missing.is_empty(),
        "docs/reuse.md does not list {missing:?}"
    );
}
