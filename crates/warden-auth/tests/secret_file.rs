#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt as _;

use secrecy::ExposeSecret as _;
use warden_auth::load_or_create_secret;

#[test]
fn creates_a_private_random_secret_once_and_reuses_it() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("state").join("jwt.secret");

    let first = load_or_create_secret(&path).unwrap();
    assert_eq!(first.expose_secret().len(), 128);
    assert!(first.expose_secret().chars().all(|c| c.is_ascii_hexdigit()));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let dir_mode = std::fs::metadata(path.parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o077, 0, "{dir_mode:o}");

    let second = load_or_create_secret(&path).unwrap();
    assert_eq!(first.expose_secret(), second.expose_secret());
    // No temporary files left behind.
    assert_eq!(
        std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
        1
    );

    let other = load_or_create_secret(&root.path().join("other.secret")).unwrap();
    assert_ne!(first.expose_secret(), other.expose_secret());
}

#[test]
fn an_existing_secret_is_read_and_trimmed() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("given.secret");
    std::fs::write(&path, "  operator-provided-secret\n").unwrap();
    std::fs::set_permissions(&path, private()).unwrap();
    let secret = load_or_create_secret(&path).unwrap();
    assert_eq!(secret.expose_secret(), "operator-provided-secret");

    std::fs::write(&path, "\n").unwrap();
    assert!(load_or_create_secret(&path).is_err());
}

#[test]
fn processes_starting_together_agree_on_one_secret() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("raced.secret");
    let secrets: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| load_or_create_secret(&path).unwrap()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap().expose_secret().to_owned())
            .collect()
    });
    assert!(secrets.iter().all(|s| s == &secrets[0] && s.len() == 128));
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
}

#[test]
fn a_secret_file_that_group_or_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;

    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("jwt-secret");
    load_or_create_secret(&path).unwrap();
    for mode in [0o644, 0o640, 0o604, 0o620] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let err = format!("{:#}", load_or_create_secret(&path).unwrap_err());
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains("chmod 600"), "{err}");
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    load_or_create_secret(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
    load_or_create_secret(&path).unwrap();
}

fn private() -> std::fs::Permissions {
    std::os::unix::fs::PermissionsExt::from_mode(0o600)
}
