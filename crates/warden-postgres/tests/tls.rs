//! `DATABASE_URL` with `sslmode` against the real PostgreSQL, which serves TLS with Debian's
//! snakeoil certificate (CN and SAN `localhost`, self-signed). Needs `WARDEN_TEST_DATABASE_URL`
//! on 127.0.0.1 with `ssl = on` (`.ci/run` turns it on); elsewhere these tests say why they skip,
//! but under `CI=true` a missing prerequisite fails them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use warden_postgres::PgStore;

const SNAKEOIL: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";
const TIMEOUT: Duration = Duration::from_secs(5);

/// The test database's URL on `host` (no query string), or `None` after saying why not.
async fn base_url(test: &str, host: &str) -> Option<String> {
    let url = common::database_url(test)?;
    let skip = |why: String| {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test} cannot run under CI: {why}"
        );
        println!("skipped {test}: {why}");
        None
    };
    let Some(rest) = url.strip_prefix("postgres://postgres@127.0.0.1:") else {
        return skip(format!(
            "{url} is not postgres://postgres@127.0.0.1:PORT/DB"
        ));
    };
    let rest = rest.split('?').next().unwrap_or(rest);
    if !std::path::Path::new(SNAKEOIL).exists() {
        return skip(format!("{SNAKEOIL} is missing"));
    }
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let ssl: String = client.query_one("SHOW ssl", &[]).await.unwrap().get(0);
    if ssl != "on" {
        return skip(format!("the server has ssl = {ssl}"));
    }
    Some(format!("postgres://postgres@{host}:{rest}"))
}

/// Whether the server sees the store's open connection (named `application`) encrypted.
async fn encrypted(url: &str, application: &str) -> bool {
    let plain = url.split('?').next().unwrap();
    let (client, connection) = tokio_postgres::connect(plain, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .query_one(
            "SELECT coalesce(bool_and(s.ssl), false) FROM pg_stat_ssl s
               JOIN pg_stat_activity a USING (pid) WHERE a.application_name = $1",
            &[&application],
        )
        .await
        .unwrap()
        .get(0)
}

fn application(test: &str) -> String {
    format!("{test}-{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn sslmode_require_encrypts() {
    let test = "tls::sslmode_require_encrypts";
    let Some(base) = base_url(test, "127.0.0.1").await else {
        return;
    };
    let name = application("require");
    let store = PgStore::connect(
        &format!("{base}?sslmode=require&application_name={name}"),
        1,
        TIMEOUT,
    )
    .await
    .unwrap();
    store.ping().await.unwrap();
    assert!(encrypted(&base, &name).await, "the connection is not TLS");
    assert!(
        format!("{store:?}").contains("tls: \"require\""),
        "{store:?}"
    );
}

#[tokio::test]
async fn no_sslmode_stays_plain_as_before() {
    let test = "tls::no_sslmode_stays_plain_as_before";
    let Some(base) = base_url(test, "127.0.0.1").await else {
        return;
    };
    let name = application("plain");
    let store = PgStore::connect(&format!("{base}?application_name={name}"), 1, TIMEOUT)
        .await
        .unwrap();
    store.ping().await.unwrap();
    assert!(!encrypted(&base, &name).await, "expected plain TCP");
}

#[tokio::test]
async fn verify_full_accepts_the_certificate_that_names_the_host() {
    let test = "tls::verify_full_accepts_the_certificate_that_names_the_host";
    let Some(base) = base_url(test, "localhost").await else {
        return;
    };
    let name = application("verify-full");
    let store = PgStore::connect(
        &format!("{base}?sslmode=verify-full&sslrootcert={SNAKEOIL}&application_name={name}"),
        1,
        TIMEOUT,
    )
    .await
    .unwrap();
    store.ping().await.unwrap();
    assert!(encrypted(&base, &name).await, "the connection is not TLS");
}

#[tokio::test]
async fn verify_full_refuses_a_certificate_for_another_name_in_one_line() {
    let test = "tls::verify_full_refuses_a_certificate_for_another_name_in_one_line";
    let Some(base) = base_url(test, "127.0.0.1").await else {
        return;
    };
    let store = PgStore::connect(
        &format!("{base}?sslmode=verify-full&sslrootcert={SNAKEOIL}"),
        1,
        TIMEOUT,
    )
    .await
    .unwrap();
    // Start-up migrates first: this is the error a server start reports.
    let error = format!("{:#}", store.migrate().await.unwrap_err());
    assert!(!error.contains('\n'), "not one line: {error}");
    assert!(error.contains("TLS"), "{error}");
    assert!(error.contains("not valid for name"), "{error}");
    assert!(store.ping().await.is_err());
}

#[tokio::test]
async fn verify_ca_checks_the_chain_but_not_the_name() {
    let test = "tls::verify_ca_checks_the_chain_but_not_the_name";
    let Some(base) = base_url(test, "127.0.0.1").await else {
        return;
    };
    // The server's own certificate as the root: the chain holds, the name (127.0.0.1) is
    // not the certificate's, and verify-ca does not compare it.
    let store = PgStore::connect(
        &format!("{base}?sslmode=verify-ca&sslrootcert={SNAKEOIL}"),
        1,
        TIMEOUT,
    )
    .await
    .unwrap();
    store.ping().await.unwrap();

    // A CA made now, which signed nothing the server holds: refused.
    let dir = tempfile::tempdir().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().unwrap();
    let other_ca = params.self_signed(&key).unwrap();
    let root = dir.path().join("other-ca.pem");
    std::fs::write(&root, other_ca.pem()).unwrap();
    for mode in ["verify-ca", "verify-full", "require"] {
        let store = PgStore::connect(
            &format!("{base}?sslmode={mode}&sslrootcert={}", root.display()),
            1,
            TIMEOUT,
        )
        .await
        .unwrap();
        let error = format!("{:#}", store.migrate().await.unwrap_err());
        assert!(error.contains("UnknownIssuer"), "{mode}: {error}");
    }
}
