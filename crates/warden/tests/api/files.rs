//! What Warden leaves on disk is private to its user: the data directory (0700), the SQLite
//! database, the generated JWT secret and `.eml` mail (0600). A secret file others can read is
//! refused.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn warden(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .env_clear()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/warden.db", data_dir.display()),
        )
        .env("WARDEN_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[test]
fn the_data_directory_and_everything_in_it_is_private() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("state");
    ok(warden(
        &data,
        &[
            "user",
            "create",
            "--email",
            "root@example.com",
            "--password",
            "root-password",
            "--admin",
        ],
    ));
    let id = ok(warden(
        &data,
        &[
            "user",
            "create",
            "--email",
            "ada@example.com",
            "--password",
            "ada-password",
        ],
    ));
    ok(warden(
        &data,
        &[
            "user",
            "deactivate",
            "--user-id",
            &id,
            "--by",
            "root@example.com",
        ],
    ));

    assert_eq!(mode(&data), 0o700, "data directory");
    assert_eq!(mode(&data.join("warden.db")), 0o600, "SQLite database");
    assert_eq!(mode(&data.join("jwt-secret")), 0o600, "generated secret");
    let mail = data.join("mail");
    assert_eq!(mode(&mail), 0o700, "mail directory");
    let emails: Vec<_> = std::fs::read_dir(&mail)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(mode(&emails[0]), 0o600, "{}", emails[0].display());
}

#[test]
fn a_secret_file_others_can_read_stops_the_program_naming_it() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("state");
    ok(warden(&data, &["migrate"]));
    let secret = data.join("jwt-secret");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();

    let refused = warden(&data, &["migrate"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8(refused.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&secret.display().to_string()), "{stderr}");
}
