//! Sign-in under concurrency: the attempt budget holds however many guesses run at once,
//! hashing is bounded (503 when it stays full), and the client is the TCP peer unless a trusted
//! proxy names it.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::json;
use warden::http::TrustedProxies;
use warden::run::app::open;
use warden::Application;
use warden_auth::Argon2Hasher;
use warden_domain::ports::PasswordHasher;
use warden_domain::use_cases::NewAccount;
use warden_domain::{Password, PasswordHash, Role};
use warden_postgres::testing::TestSchema;
use warden_testkit::smtp_sink::SmtpSink;

use crate::support::{
    config_for, spawn_app, spawn_app_configured, spawn_app_with, Response, TestApp,
};

const LOGIN: &str = "/api/v1/auth/login";
const THROTTLED: &str = "Too many failed login attempts, try again later";

async fn login(
    app: &TestApp,
    email: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> Response {
    let mut request = app
        .client
        .post(app.url(LOGIN))
        .json(&json!({"email": email, "password": password}));
    if let Some(forwarded_for) = forwarded_for {
        request = request.header("x-forwarded-for", forwarded_for);
    }
    Response::read(request.send().await.unwrap()).await
}

/// A hasher that never answers busy within a test, so every guess is either judged or throttled.
fn patient_hasher() -> Arc<dyn PasswordHasher> {
    Arc::new(Argon2Hasher::new().with_limits(4, Duration::from_secs(600)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_wrong_guesses_get_at_most_the_policys_five_evaluations() {
    let app = spawn_app_with(|mut ports| {
        ports.hasher = patient_hasher();
        ports
    })
    .await;
    let ada = app.create_user(Role::User).await;
    let guesses = (0..200).map(|i| {
        let app = &app;
        let email = ada.email.as_str();
        async move { login(app, email, &format!("wrong password {i}"), None).await }
    });
    let answers = join_all(guesses).await;
    let mut unauthorized = 0;
    for answer in &answers {
        match answer.status.as_u16() {
            401 => {
                answer.assert_envelope(401, "Invalid email or password");
                unauthorized += 1;
            }
            429 => {
                answer.assert_envelope(429, THROTTLED);
                let wait: u64 = answer.headers["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=15 * 60).contains(&wait), "{wait}");
            }
            other => panic!("unexpected {other}: {:?}", answer.body),
        }
    }
    assert!(
        (1..=5).contains(&unauthorized),
        "{unauthorized} guesses were evaluated"
    );
    // The right password is refused too now: the pair is locked out.
    login(&app, ada.email.as_str(), crate::support::PASSWORD, None)
        .await
        .assert_envelope(429, THROTTLED);
}

/// A stored hash that takes a while to check (30 passes over 19 MiB): it holds a slot.
fn slow_hash() -> PasswordHash {
    let output = "A".repeat(43);
    PasswordHash::new(format!(
        "$argon2id$v=19$m=19456,t=30,p=1$c2l4dGVlbiBieXRlIHNhbHQ${output}"
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_every_hashing_slot_stays_busy_a_login_gets_503_and_it_does_not_count() {
    let hasher = Argon2Hasher::new().with_limits(1, Duration::from_millis(50));
    let shared = hasher.clone();
    let app = spawn_app_with(move |mut ports| {
        ports.hasher = Arc::new(shared);
        ports
    })
    .await;
    let ada = app.create_user(Role::User).await;
    for _ in 0..6 {
        let holder = hasher.clone();
        let held = tokio::spawn(async move {
            let password = Password::parse("correct horse battery").unwrap();
            holder.verify(&password, Some(&slow_hash())).await
        });
        while hasher.idle_slots() > 0 {
            tokio::task::yield_now().await;
        }
        let busy = login(&app, ada.email.as_str(), "wrong password", None).await;
        busy.assert_envelope(503, "Service temporarily unavailable");
        assert_eq!(busy.headers["retry-after"], "1");
        assert!(!held.await.unwrap().unwrap());
    }
    // Six unjudged attempts used none of the five-failure budget.
    login(&app, ada.email.as_str(), crate::support::PASSWORD, None)
        .await
        .assert_shape(200, "Login successful");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() {
    // Not trusted (the default): a client cannot escape its lockout by naming another address.
    let app = spawn_app().await;
    let ada = app.create_user(Role::User).await;
    for i in 0..5 {
        let spoofed = format!("198.51.100.{i}");
        login(&app, ada.email.as_str(), "wrong password", Some(&spoofed))
            .await
            .assert_envelope(401, "Invalid email or password");
    }
    login(&app, ada.email.as_str(), "wrong", Some("198.51.100.99"))
        .await
        .assert_envelope(429, THROTTLED);

    // Behind a trusted proxy (this test's loopback peer), clients are told apart by the header.
    let app = spawn_behind_proxy("127.0.0.1/32").await;
    let ada = app.create_user(Role::User).await;
    for _ in 0..5 {
        login(
            &app,
            ada.email.as_str(),
            "wrong password",
            Some("203.0.113.9"),
        )
        .await
        .assert_envelope(401, "Invalid email or password");
    }
    login(
        &app,
        ada.email.as_str(),
        "wrong",
        Some("1.1.1.1, 203.0.113.9"),
    )
    .await
    .assert_envelope(429, THROTTLED);
    // Another client behind the same proxy is not locked out with the attacker.
    login(
        &app,
        ada.email.as_str(),
        crate::support::PASSWORD,
        Some("203.0.113.10"),
    )
    .await
    .assert_shape(200, "Login successful");
}

/// Like `spawn_app`, with `WARDEN_TRUSTED_PROXIES` set.
async fn spawn_behind_proxy(trusted: &str) -> TestApp {
    let trusted = TrustedProxies::parse(trusted).unwrap();
    spawn_app_configured(|config| config.trusted_proxies = trusted, |ports| ports).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_postgres_share_the_attempt_budget() {
    // Under CI the local cluster (never a skip there).
    let Some(base) = warden_postgres::testing::test_database_url() else {
        println!("skipped: WARDEN_TEST_DATABASE_URL is not set (a PostgreSQL-only guarantee)");
        return;
    };
    let schema = TestSchema::create(&base).await.unwrap();
    let sink = SmtpSink::start().await.unwrap();
    let mut replicas = Vec::new();
    let mut dirs = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let config = config_for(schema.url(), &dir, &sink.url());
        let (_store, mut ports) = open(&config).await.unwrap();
        ports.hasher = patient_hasher();
        let app = Application::start(&config, ports).unwrap();
        replicas.push((
            format!("http://127.0.0.1:{}", app.port()),
            app.services().clone(),
        ));
        tokio::spawn(app.run_until_stopped());
        dirs.push(dir);
    }
    let ada = replicas[0]
        .1
        .create_user
        .execute(NewAccount {
            email: "ada@example.com".into(),
            password: Password::parse(crate::support::PASSWORD).unwrap(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            role: Role::User,
        })
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let guesses = (0..100).map(|i| {
        let (client, url) = (&client, format!("{}{LOGIN}", replicas[i % 2].0));
        let body = json!({"email": ada.email.as_str(), "password": format!("wrong {i}")});
        async move {
            client
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let statuses = join_all(guesses).await;
    let evaluated = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    assert!(
        (1..=5).contains(&evaluated),
        "{evaluated} evaluated across two replicas"
    );
}
