//! `warden client create|list|revoke`, run as the real binary against a running server's
//! database: a revoked client's token stops working on the server at once.

use std::process::{Command, Output};

use serde_json::json;
use warden_domain::Role;

use crate::clients::introspect;
use crate::support::spawn_app;

fn warden(database_url: &str, dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .env_clear()
        .env("DATABASE_URL", database_url)
        .env("WARDEN_DATA_DIR", dir)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_create_list_and_revoke_clients() {
    let app = spawn_app().await;
    let db = secrecy::ExposeSecret::expose_secret(&app.config.database_url).to_owned();
    let dir = app.data_dir.path();
    let user = app.create_user(Role::User).await;
    let user_token = app.token_for(&user).await;

    let created = stdout(&warden(
        &db,
        dir,
        &[
            "client",
            "create",
            "--name",
            "gateway",
            "--scope",
            "introspect, scim",
        ],
    ));
    let token = created.trim_end_matches('\n');
    assert!(
        !token.contains('\n') && token.starts_with("wdn_") && token.len() == 47,
        "{created:?}"
    );
    let answer = introspect(&app, Some(token), &user_token).await;
    assert_eq!(answer.body["active"], true);

    // Refusals name the flag and print nothing on stdout.
    for (args, needle) in [
        (
            &["client", "create", "--name", "gateway", "--scope", "scim"][..],
            "--name",
        ),
        (
            &["client", "create", "--name", "x y", "--scope", "scim"],
            "--name",
        ),
        (
            &["client", "create", "--name", "other", "--scope", "admin"],
            "--scope",
        ),
        (&["client", "revoke", "--name", "nobody"], "--name"),
    ] {
        let refused = warden(&db, dir, args);
        assert!(!refused.status.success(), "{args:?}");
        assert!(refused.stdout.is_empty(), "{args:?}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }

    let listed = stdout(&warden(&db, dir, &["client", "list"]));
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header, ["NAME", "SCOPES", "CREATED", "REVOKED", "ID"]);
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(&row[..2], ["gateway", "introspect,scim"]);
    assert_eq!(row[3], "-");
    assert!(!listed.contains(&token[4..]));

    let revoked_id = stdout(&warden(
        &db,
        dir,
        &["client", "revoke", "--name", "gateway"],
    ));
    assert_eq!(revoked_id.trim(), row[4]);
    // The running server refuses the token at once.
    let refused = introspect(&app, Some(token), &user_token).await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.body, json!({"error": "invalid_client"}));
    let listed = stdout(&warden(&db, dir, &["client", "list"]));
    let row: Vec<&str> = listed.lines().nth(1).unwrap().split_whitespace().collect();
    assert_ne!(row[3], "-");
    assert!(row[3].ends_with('Z'), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_needs_eddsa() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/warden.db", dir.path().display());
    let refused = warden(&db, dir.path(), &["keys", "rotate"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("JWT_ALGORITHM"));
    assert!(!dir.path().join("jwt-ed25519.pem").exists());
}
