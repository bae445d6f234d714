//! The shared conformance suite of `warden-testkit`, one test per check, each on a fresh schema.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::Db;
use warden_domain::ports::{
    ClientRepo, IdempotencyStore, JobStore, Outbox, SsfRepo, UserRepo, WebhookRepo,
};

/// A fresh schema, or `None` (the test is skipped) without a configured database.
async fn fresh(test: &str) -> Option<(Arc<dyn UserRepo>, Arc<dyn Outbox>, Db)> {
    let db = Db::fresh(test).await?;
    let store = Arc::new(db.store.clone());
    Some((store.clone(), store, db))
}

async fn fresh_clients(test: &str) -> Option<(Arc<dyn ClientRepo>, Db)> {
    let db = Db::fresh(test).await?;
    Some((Arc::new(db.store.clone()), db))
}

async fn fresh_keys(test: &str) -> Option<(Arc<dyn IdempotencyStore>, Db)> {
    let db = Db::fresh(test).await?;
    Some((Arc::new(db.store.clone()), db))
}

async fn fresh_jobs(test: &str) -> Option<(Arc<dyn JobStore>, Db)> {
    let db = Db::fresh(test).await?;
    Some((Arc::new(db.store.clone()), db))
}

warden_testkit::contract_tests!(fresh, clients: fresh_clients, idempotency: fresh_keys);
warden_testkit::role_change_contract_tests!(fresh);
warden_testkit::job_contract_tests!(fresh_jobs);

async fn fresh_webhooks(test: &str) -> Option<(Arc<dyn UserRepo>, Arc<dyn WebhookRepo>, Db)> {
    let db = Db::fresh(test).await?;
    let store = Arc::new(db.store.clone());
    Some((store.clone(), store, db))
}

warden_testkit::webhook_contract_tests!(fresh_webhooks);

async fn fresh_ssf(
    test: &str,
) -> Option<(Arc<dyn UserRepo>, Arc<dyn ClientRepo>, Arc<dyn SsfRepo>, Db)> {
    let db = Db::fresh(test).await?;
    let store = Arc::new(db.store.clone());
    Some((store.clone(), store.clone(), store, db))
}

warden_testkit::ssf_contract_tests!(fresh_ssf);

/// A client's authority is re-checked against the clients of the same database.
#[tokio::test]
async fn live_clients_act_and_revoked_ones_do_not() {
    let Some(db) = Db::fresh("live_clients_act").await else {
        return;
    };
    let store = Arc::new(db.store.clone());
    warden_testkit::contract::live_clients_act_and_revoked_ones_do_not(
        store.clone(),
        store.clone(),
        store,
    )
    .await;
}

async fn fresh_provisioning(
    test: &str,
) -> Option<(
    Arc<dyn UserRepo>,
    Arc<dyn warden_domain::ports::ProvisioningRepo>,
    Db,
)> {
    let db = Db::fresh(test).await?;
    let store = Arc::new(db.store.clone());
    Some((store.clone(), store, db))
}

warden_testkit::provisioning_contract_tests!(fresh_provisioning);

async fn fresh_config(test: &str) -> Option<(warden_testkit::contract::ConfigStores, Db)> {
    let db = Db::fresh(test).await?;
    let stores = warden_testkit::contract::ConfigStores::of(Arc::new(db.store.clone()));
    Some((stores, db))
}

warden_testkit::config_change_contract_tests!(fresh_config);

/// The submitting admin is re-checked against the accounts of the same database.
#[tokio::test]
async fn job_submission_rechecks_the_admin() {
    let Some(db) = Db::fresh("job_submission_rechecks").await else {
        return;
    };
    let store = Arc::new(db.store.clone());
    warden_testkit::contract::job_submission_rechecks_the_admin(store.clone(), store).await;
}
