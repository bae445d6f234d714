//! The in-memory store passes the storage conformance suite, like PostgreSQL and SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use warden_domain::ports::{
    ClientRepo, IdempotencyStore, JobStore, Outbox, SsfRepo, UserRepo, WebhookRepo,
};
use warden_testkit::{MemoryIdempotencyStore, MemoryStore};

async fn fresh(_test: &str) -> Option<(Arc<dyn UserRepo>, Arc<dyn Outbox>, ())> {
    let store = Arc::new(MemoryStore::new());
    Some((store.clone(), store, ()))
}

async fn fresh_clients(_test: &str) -> Option<(Arc<dyn ClientRepo>, ())> {
    Some((Arc::new(MemoryStore::new()), ()))
}

async fn fresh_keys(_test: &str) -> Option<(Arc<dyn IdempotencyStore>, ())> {
    Some((Arc::new(MemoryIdempotencyStore::new()), ()))
}

async fn fresh_jobs(_test: &str) -> Option<(Arc<dyn JobStore>, ())> {
    Some((Arc::new(warden_testkit::MemoryJobStore::new()), ()))
}

warden_testkit::contract_tests!(fresh, clients: fresh_clients, idempotency: fresh_keys);
warden_testkit::role_change_contract_tests!(fresh);
warden_testkit::job_contract_tests!(fresh_jobs);

async fn fresh_webhooks(_test: &str) -> Option<(Arc<dyn UserRepo>, Arc<dyn WebhookRepo>, ())> {
    let store = Arc::new(MemoryStore::new());
    Some((store.clone(), store, ()))
}

warden_testkit::webhook_contract_tests!(fresh_webhooks);

async fn fresh_ssf(
    _test: &str,
) -> Option<(Arc<dyn UserRepo>, Arc<dyn ClientRepo>, Arc<dyn SsfRepo>, ())> {
    let store = Arc::new(MemoryStore::new());
    Some((store.clone(), store.clone(), store, ()))
}

warden_testkit::ssf_contract_tests!(fresh_ssf);

/// The whole suite on a current-thread runtime, as under `#[actix_web::main]`.
#[tokio::test]
async fn run_all_on_a_current_thread_runtime() {
    let store = Arc::new(MemoryStore::new());
    warden_testkit::contract::run_all(store.clone(), store).await;
}

/// A client's authority is re-checked against the clients of the same store.
#[tokio::test]
async fn live_clients_act_and_revoked_ones_do_not() {
    let store = Arc::new(MemoryStore::new());
    warden_testkit::contract::live_clients_act_and_revoked_ones_do_not(
        store.clone(),
        store.clone(),
        store,
    )
    .await;
}

async fn fresh_provisioning(
    _test: &str,
) -> Option<(
    Arc<dyn UserRepo>,
    Arc<dyn warden_domain::ports::ProvisioningRepo>,
    (),
)> {
    let store = Arc::new(MemoryStore::new());
    Some((store.clone(), store, ()))
}

warden_testkit::provisioning_contract_tests!(fresh_provisioning);

async fn fresh_config(_test: &str) -> Option<(warden_testkit::contract::ConfigStores, ())> {
    let store = Arc::new(MemoryStore::new());
    Some((warden_testkit::contract::ConfigStores::of(store), ()))
}

warden_testkit::config_change_contract_tests!(fresh_config);

/// The submitting admin is re-checked against the accounts of the same store.
#[tokio::test]
async fn job_submission_rechecks_the_admin() {
    let store = Arc::new(MemoryStore::new());
    let jobs = Arc::new(warden_testkit::MemoryJobStore::with_accounts(store.clone()));
    warden_testkit::contract::job_submission_rechecks_the_admin(store, jobs).await;
}
