//! The shared storage conformance suite, each check on its own fresh database file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use tempfile::TempDir;
use warden_domain::ports::{
    ClientRepo, IdempotencyStore, JobStore, Outbox, SsfRepo, UserRepo, WebhookRepo,
};
use warden_sqlite::SqliteStore;

/// A new, migrated database file.
async fn fresh_store() -> (SqliteStore, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("warden.db").display());
    let store = SqliteStore::connect(&url, 4, Duration::from_secs(10))
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    (store, dir)
}

async fn fresh(_test: &str) -> Option<(Arc<dyn UserRepo>, Arc<dyn Outbox>, TempDir)> {
    let (store, dir) = fresh_store().await;
    Some((Arc::new(store.clone()), Arc::new(store), dir))
}

async fn fresh_clients(_test: &str) -> Option<(Arc<dyn ClientRepo>, TempDir)> {
    let (store, dir) = fresh_store().await;
    Some((Arc::new(store), dir))
}

async fn fresh_keys(_test: &str) -> Option<(Arc<dyn IdempotencyStore>, TempDir)> {
    let (store, dir) = fresh_store().await;
    Some((Arc::new(store), dir))
}

async fn fresh_jobs(_test: &str) -> Option<(Arc<dyn JobStore>, TempDir)> {
    let (store, dir) = fresh_store().await;
    Some((Arc::new(store), dir))
}

warden_testkit::contract_tests!(fresh, clients: fresh_clients, idempotency: fresh_keys);
warden_testkit::role_change_contract_tests!(fresh);
warden_testkit::job_contract_tests!(fresh_jobs);

async fn fresh_webhooks(_test: &str) -> Option<(Arc<dyn UserRepo>, Arc<dyn WebhookRepo>, TempDir)> {
    let (store, dir) = fresh_store().await;
    Some((Arc::new(store.clone()), Arc::new(store), dir))
}

warden_testkit::webhook_contract_tests!(fresh_webhooks);

async fn fresh_ssf(
    _test: &str,
) -> Option<(
    Arc<dyn UserRepo>,
    Arc<dyn ClientRepo>,
    Arc<dyn SsfRepo>,
    TempDir,
)> {
    let (store, dir) = fresh_store().await;
    let store = Arc::new(store);
    Some((store.clone(), store.clone(), store, dir))
}

warden_testkit::ssf_contract_tests!(fresh_ssf);

/// The whole suite on an in-memory database (one connection), on a current-thread runtime as
/// under `#[actix_web::main]`.
#[tokio::test]
async fn run_all_in_memory_on_a_current_thread_runtime() {
    let store = SqliteStore::connect("sqlite::memory:", 8, Duration::from_secs(10))
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    warden_testkit::contract::run_all(Arc::new(store.clone()), Arc::new(store)).await;
}

/// A client's authority is re-checked against the clients of the same database.
#[tokio::test]
async fn live_clients_act_and_revoked_ones_do_not() {
    let (users, outbox, dir) = fresh("live_clients_act").await.expect("store");
    let url = format!("sqlite://{}", dir.path().join("warden.db").display());
    let clients = SqliteStore::connect(&url, 4, Duration::from_secs(10))
        .await
        .expect("connect");
    warden_testkit::contract::live_clients_act_and_revoked_ones_do_not(
        users,
        outbox,
        Arc::new(clients),
    )
    .await;
}

async fn fresh_provisioning(
    _test: &str,
) -> Option<(
    Arc<dyn UserRepo>,
    Arc<dyn warden_domain::ports::ProvisioningRepo>,
    TempDir,
)> {
    let (store, dir) = fresh_store().await;
    Some((Arc::new(store.clone()), Arc::new(store), dir))
}

warden_testkit::provisioning_contract_tests!(fresh_provisioning);

async fn fresh_config(_test: &str) -> Option<(warden_testkit::contract::ConfigStores, TempDir)> {
    let (store, dir) = fresh_store().await;
    Some((
        warden_testkit::contract::ConfigStores::of(Arc::new(store)),
        dir,
    ))
}

warden_testkit::config_change_contract_tests!(fresh_config);

/// The submitting admin is re-checked against the accounts of the same database.
#[tokio::test]
async fn job_submission_rechecks_the_admin() {
    let (store, _dir) = fresh_store().await;
    let store = Arc::new(store);
    warden_testkit::contract::job_submission_rechecks_the_admin(store.clone(), store).await;
}
