//! The operator CLI, run as the real binary against the same kind of database as the server.

use std::process::{Command, Output};

use serde_json::json;
use tempfile::TempDir;

use crate::support::{config_for, spawn_app, test_database, Response};

fn warden(database_url: &str, dir: &TempDir, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("WARDEN_DATA_DIR", dir.path())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn stdout_line(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text:?}");
    lines[0].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_users_and_a_token_then_deactivate_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let (database_url, _schema) = test_database(&dir).await;
    let admin_id = stdout_line(&warden(
        &database_url,
        &dir,
        &[
            "user",
            "create",
            "--email",
            "admin@example.com",
            "--password",
            "admin-password",
            "--admin",
        ],
    ));
    let user_id = stdout_line(&warden(
        &database_url,
        &dir,
        &[
            "user",
            "create",
            "--email",
            "ada@example.com",
            "--password",
            "ada-password",
            "--first-name",
            "Ada",
            "--last-name",
            "Lovelace",
        ],
    ));
    assert_ne!(admin_id, user_id);
    uuid::Uuid::parse_str(&user_id).unwrap();
    let token = stdout_line(&warden(
        &database_url,
        &dir,
        &["token", "--email", "admin@example.com"],
    ));

    // The server, started later on the same database and data directory (so the same
    // generated JWT secret), accepts the CLI's token.
    let sink = warden_testkit::smtp_sink::SmtpSink::start().await.unwrap();
    let mut config = config_for(&database_url, &dir, &sink.url());
    config.jwt_secret = None;
    let app = warden::Application::build(config).await.unwrap();
    let url = format!("http://127.0.0.1:{}/api/v1/users/deactivate", app.port());
    tokio::spawn(app.run_until_stopped());
    let response = reqwest::Client::new()
        .patch(url)
        .bearer_auth(&token)
        .json(&json!({ "user_id": user_id }))
        .send()
        .await
        .unwrap();
    Response::read(response)
        .await
        .assert_envelope(200, "User account deactivated successfully");
    let mails = sink
        .wait_for(1, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(mails[0].to, vec!["ada@example.com".to_owned()]);

    // A deactivated account gets no token.
    let refused = warden(
        &database_url,
        &dir,
        &["token", "--email", "ada@example.com"],
    );
    assert!(!refused.status.success());
    assert!(refused.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_deactivation_follows_the_same_rules() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let target = app.create_user(warden_domain::Role::User).await;
    let database_url = secrecy::ExposeSecret::expose_secret(&app.config.database_url).to_owned();
    let id = target.id.to_string();
    let args = [
        "user",
        "deactivate",
        "--user-id",
        &id,
        "--by",
        admin.email.as_str(),
        "--reason",
        "cli",
    ];

    assert_eq!(
        stdout_line(&warden(&database_url, &app.data_dir, &args)),
        id
    );
    assert!(!app.user(&target).await.is_active());
    // Recorded as what it is: an operator at the CLI claiming the admin's authority, with the
    // OS user who ran the command (the child runs as this process's user).
    let events = app.users.events(&target.id, None, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    let actor = &events[0].actor;
    assert_eq!(actor.kind, warden_domain::ActorKind::Operator);
    assert_eq!(actor.kind.channel(), "cli");
    assert_eq!(actor.account(), Some(admin.id));
    let me = warden::cli::os_user::current();
    assert_eq!(actor.name, me.split(" (sudo").next().unwrap());
    let mut not_an_id = args;
    not_an_id[3] = "12345";
    let refused = warden(&database_url, &app.data_dir, &not_an_id);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--user-id is not a user id"));
    let again = warden(&database_url, &app.data_dir, &args);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already deactivated"));

    let self_args = [
        "user",
        "deactivate",
        "--user-id",
        &admin.id.to_string(),
        "--by",
        admin.email.as_str(),
    ];
    let refused = warden(
        &database_url,
        &app.data_dir,
        &self_args
            .map(|s| s.to_owned())
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(!refused.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_can_come_from_standard_input_instead_of_the_command_line() {
    use std::io::Write;
    use std::process::Stdio;

    let app = spawn_app().await;
    let database_url = secrecy::ExposeSecret::expose_secret(&app.config.database_url).to_owned();
    let create = |args: &[&str], stdin: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(args)
            .env_clear()
            .env("DATABASE_URL", &database_url)
            .env("WARDEN_DATA_DIR", app.data_dir.path())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A usage error may exit before reading: a closed pipe is not the test's concern.
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        child.wait_with_output().unwrap()
    };
    let base = ["user", "create", "--email", "stdin@example.com"];
    let id = stdout_line(&create(
        &[&base[..], &["--password-stdin"]].concat(),
        "piped secret words\n",
    ));
    let login = app
        .send(
            reqwest::Method::POST,
            "/api/v1/auth/login",
            None,
            json!({"email": "stdin@example.com", "password": "piped secret words"}).to_string(),
        )
        .await;
    login.assert_shape(200, "Login successful");
    assert!(!id.is_empty());

    // Exactly one source: both, or neither, is a usage error that creates nobody.
    for args in [
        [
            &base[..],
            &["--password", "x-password-1", "--password-stdin"],
        ]
        .concat(),
        base.to_vec(),
    ] {
        let output = create(&args, "another password\n");
        assert!(!output.status.success(), "{args:?}");
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn a_bad_setting_exits_non_zero_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value) in [
        ("JWT_TTL_SECONDS", "soon"),
        ("WARDEN_ADDR", "nowhere"),
        ("DATABASE_URL", "mysql://x"),
        (
            "JWT_SECRET",
            "change-me-to-a-long-random-secret-of-32-bytes-or-more",
        ),
        ("JWT_SECRET", "abababababababababababababababababab"),
        ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
        ("JWT_SECRET", "supersecretjwtkeyforwarden123456"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_warden"))
            .arg("migrate")
            .env("WARDEN_DATA_DIR", dir.path())
            .env(var, value)
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(var), "{stderr}");
        if var == "JWT_SECRET" {
            assert!(stderr.contains("openssl rand -base64 48"), "{stderr}");
            assert!(
                !stderr.contains(value),
                "the secret is not echoed: {stderr}"
            );
        }
    }
}

/// The CLI's after-commit hook delivers the change's notification before the command exits
/// (no server is running here; without `SMTP_URL` mail is written as `.eml` files).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_change_is_delivered_before_the_command_exits() {
    let dir = tempfile::tempdir().unwrap();
    let (database_url, _schema) = test_database(&dir).await;
    let create = |email: &str, admin: bool| {
        let mut args = vec![
            "user",
            "create",
            "--email",
            email,
            "--password",
            "a-password",
        ];
        if admin {
            args.push("--admin");
        }
        stdout_line(&warden(&database_url, &dir, &args))
    };
    create("admin@example.com", true);
    let user_id = create("ada@example.com", false);
    let args = [
        "user",
        "deactivate",
        "--user-id",
        &user_id,
        "--by",
        "admin@example.com",
    ];
    assert_eq!(stdout_line(&warden(&database_url, &dir, &args)), user_id);
    let mail: Vec<_> = std::fs::read_dir(dir.path().join("mail"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
        .collect();
    assert_eq!(mail.len(), 1, "{mail:?}");
    let text = std::fs::read_to_string(&mail[0]).unwrap();
    assert!(text.contains("ada@example.com"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_list_prints_the_matching_accounts_as_a_table() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let create = |email: &'static str, first: &'static str| {
        app.services
            .create_user
            .execute(warden_domain::use_cases::NewAccount {
                email: email.into(),
                password: warden_domain::Password::parse(crate::support::PASSWORD).unwrap(),
                first_name: first.into(),
                last_name: "Lovelace".into(),
                role: warden_domain::Role::User,
            })
    };
    let ada = create("ada@example.com", "Ada").await.unwrap();
    let adele = create("adele@example.com", "Adele").await.unwrap();
    let bob = create("bob@example.com", "Bob").await.unwrap();
    app.deactivate(&token, &adele, None).await;
    let database_url = secrecy::ExposeSecret::expose_secret(&app.config.database_url).to_owned();
    let list = |args: &[&str]| {
        let output = warden(
            &database_url,
            &app.data_dir,
            &[&["user", "list"], args].concat(),
        );
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8(output.stdout).unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        (text, stderr)
    };

    let (table, _) = list(&["--q", "ADA", "--status", "active"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(lines[0].starts_with("ID") && lines[0].contains("EMAIL"));
    assert!(lines[1].starts_with(&ada.id.to_string()), "{table}");
    assert!(lines[1].contains("ada@example.com") && lines[1].contains("Ada Lovelace"));
    assert!(lines[1].ends_with("active"));

    // Newest first, a page at a time, the next page named on standard error.
    let (table, more) = list(&["--q", "lovelace", "--limit", "2"]);
    let ids: Vec<&str> = table.lines().skip(1).map(|l| &l[..36]).collect();
    assert_eq!(ids, [bob.id.to_string(), adele.id.to_string()]);
    let cursor = more.trim().rsplit(' ').next().unwrap().to_owned();
    assert_eq!(cursor, adele.id.to_string(), "{more}");
    let (table, more) = list(&["--q", "lovelace", "--limit", "2", "--cursor", &cursor]);
    assert_eq!(table.lines().count(), 2);
    assert!(table.contains(&ada.id.to_string()) && more.is_empty());

    let bad = warden(
        &database_url,
        &app.data_dir,
        &["user", "list", "--status", "gone"],
    );
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("--status must be active, inactive or all")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_suspension_takes_an_until() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let target = app.create_user(warden_domain::Role::User).await;
    let database_url = secrecy::ExposeSecret::expose_secret(&app.config.database_url).to_owned();
    let id = target.id.to_string();
    let until = (chrono::Utc::now() + chrono::TimeDelta::days(7))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let run = |until: &str| {
        let args = [
            "user",
            "deactivate",
            "--user-id",
            &id,
            "--by",
            admin.email.as_str(),
            "--until",
            until,
        ];
        warden(&database_url, &app.data_dir, &args)
    };
    let refused = run("yesterday");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--until must be an RFC 3339"));
    let refused = run("2001-01-01T00:00:00Z");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--until must be in the future"));
    assert_eq!(stdout_line(&run(&until)), id);
    match app.user(&target).await.status {
        warden_domain::AccountStatus::Deactivated(d) => {
            assert_eq!(
                d.until
                    .map(|u| u.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                Some(until)
            );
        }
        other => panic!("still {other:?}"),
    }
}

#[tokio::test]
async fn roles_from_the_command_line_follow_the_same_rules_and_are_audited() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let database_url = secrecy::ExposeSecret::expose_secret(&app.config.database_url).to_owned();
    let dir = &app.data_dir;
    // `--role helpdesk` at creation; an unknown role names the allowed ones.
    let email = format!("{}@example.com", uuid::Uuid::now_v7().simple());
    let create = [
        "user",
        "create",
        "--email",
        &email,
        "--password",
        "a-long-password",
        "--role",
        "helpdesk",
    ];
    let id = stdout_line(&warden(&database_url, dir, &create));
    let user_id = warden_domain::UserId::parse(&id).unwrap();
    let created = app.users.find_by_id(&user_id).await.unwrap().unwrap();
    assert_eq!(created.role, warden_domain::Role::Helpdesk);
    let mut bad = create;
    bad[7] = "owner";
    bad[3] = "other@example.com";
    let refused = warden(&database_url, dir, &bad);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("--role must be one of admin, helpdesk, user"),
        "{stderr}"
    );

    // `user role` gives it back the user role, as an operator on the admin's authority.
    let role = [
        "user",
        "role",
        "--user-id",
        &id,
        "--role",
        "user",
        "--by",
        admin.email.as_str(),
        "--reason",
        "left support",
    ];
    assert_eq!(stdout_line(&warden(&database_url, dir, &role)), id);
    let now = app.users.find_by_id(&user_id).await.unwrap().unwrap();
    assert_eq!(now.role, warden_domain::Role::User);
    assert_eq!(now.token_version, created.token_version + 1);
    let events = app.users.events(&user_id, None, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].action, warden_domain::AuditAction::RoleChanged);
    assert_eq!(events[0].actor.kind, warden_domain::ActorKind::Operator);
    assert_eq!(events[0].actor.account(), Some(admin.id));
    let again = warden(&database_url, dir, &role);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already has this role"));
}
