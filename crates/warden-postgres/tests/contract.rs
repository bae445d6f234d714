//! The shared conformance suite of `warden-testkit`, one test per check, each on a fresh schema.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::Db;
use warden_domain::ports::{IdempotencyStore, Outbox, UserRepo};

/// A fresh schema, or `None` (the test is skipped) without a configured database.
async fn fresh(test: &str) -> Option<(Arc<dyn UserRepo>, Arc<dyn Outbox>, Db)> {
    let db = Db::fresh(test).await?;
    let store = Arc::new(db.store.clone());
    Some((store.clone(), store, db))
}

async fn fresh_keys(test: &str) -> Option<(Arc<dyn IdempotencyStore>, Db)> {
    let db = Db::fresh(test).await?;
    Some((Arc::new(db.store.clone()), db))
}

warden_testkit::contract_tests!(fresh, idempotency: fresh_keys);
