//! What the binary writes to standard error when it is not a terminal.

use std::process::Command;

/// `warden migrate 2>file` (here: a pipe) logs plain text: no ANSI colour codes.
#[test]
fn logs_to_a_pipe_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("migrate")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/warden.db", dir.path().display()),
        )
        .env("WARDEN_DATA_DIR", dir.path())
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("migrations applied"), "{stderr}");
    assert!(!stderr.contains("\u{1b}["), "ANSI escapes in {stderr:?}");
}
