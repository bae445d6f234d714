use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use secrecy::SecretString;

/// The secret stored in `path` (trimmed). If there is none, creates one: 64 random bytes,
/// hex-encoded, in a file readable by its owner only (`0600`, in a parent directory created
/// `0700` if missing). The file appears atomically (written aside, then hard-linked into
/// place), so two processes starting at once agree on one secret and never read half of one.
///
/// An existing file must be private: one that its group or others may read or write is refused,
/// because anyone who can read it can sign tokens.
///
/// # Errors
/// On any IO failure, when the existing file is empty, or when it is readable or writable by
/// group or others.
pub fn load_or_create_secret(path: &Path) -> anyhow::Result<SecretString> {
    load_or_create_private(path, || Ok(random_hex(64)))
}

/// As [`load_or_create_secret`], with `make` writing the content of a new file (a PEM key).
///
/// # Errors
/// As [`load_or_create_secret`], or when `make` fails.
pub fn load_or_create_private(
    path: &Path,
    make: impl FnOnce() -> anyhow::Result<String>,
) -> anyhow::Result<SecretString> {
    match read_secret(path) {
        Err(err) if err.kind() == ErrorKind::NotFound => {}
        other => return finish(path, other),
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let secret = make()?;
    let temp = temp_path(path);
    let written = write_new(&temp, &secret).and_then(|()| fs::hard_link(&temp, path));
    let _ = fs::remove_file(&temp);
    match written {
        Ok(()) => Ok(SecretString::from(secret)),
        // Another process created it first: use theirs.
        Err(err) if err.kind() == ErrorKind::AlreadyExists => finish(path, read_secret(path)),
        Err(err) => {
            Err(err).with_context(|| format!("cannot create the secret file {}", path.display()))
        }
    }
}

fn read_secret(path: &Path) -> std::io::Result<String> {
    let mode = fs::metadata(path)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(std::io::Error::new(
            ErrorKind::PermissionDenied,
            format!("it is open to group or others (mode {mode:04o}); make it private: chmod 600"),
        ));
    }
    fs::read_to_string(path).map(|text| text.trim().to_owned())
}

fn finish(path: &Path, read: std::io::Result<String>) -> anyhow::Result<SecretString> {
    let secret = read.with_context(|| format!("cannot read the secret file {}", path.display()))?;
    anyhow::ensure!(
        !secret.is_empty(),
        "the secret file {} is empty",
        path.display()
    );
    Ok(SecretString::from(secret))
}

fn write_new(path: &Path, secret: &str) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(secret.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.{}.tmp", std::process::id(), random_hex(8)));
    path.with_file_name(name)
}

fn random_hex(bytes: usize) -> String {
    let mut random = vec![0u8; bytes];
    rand::fill(random.as_mut_slice());
    random.iter().map(|b| format!("{b:02x}")).collect()
}
