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

/// A PostgreSQL certificate that does not name the host stops the start with one line on
/// standard error: no panic, no backtrace. Needs `WARDEN_TEST_DATABASE_URL` on 127.0.0.1 with
/// TLS on (`.ci/run` sees to it); the snakeoil certificate names `localhost`.
#[test]
fn a_database_certificate_for_another_name_stops_the_start_in_one_line() {
    // Under CI the local cluster (never a skip there).
    let Some(base) = warden_postgres::testing::test_database_url() else {
        println!("skipped: WARDEN_TEST_DATABASE_URL is not set");
        return;
    };
    if !base.contains("@127.0.0.1:") || base.contains('?') {
        assert!(
            !warden_testkit::ci::in_ci(),
            "{base} is not a plain URL on 127.0.0.1, which this test needs"
        );
        println!("skipped: {base} is not a plain URL on 127.0.0.1");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("migrate")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "DATABASE_URL",
            format!("{base}?sslmode=verify-full&sslrootcert=/etc/ssl/certs/ssl-cert-snakeoil.pem"),
        )
        .env("WARDEN_DATA_DIR", dir.path())
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(
        stderr.contains("not valid for name \"127.0.0.1\""),
        "{stderr}"
    );
}
