//! The host's store honours the storage ports' contracts: Warden's conformance suite, one test
//! per check (`cargo test --test contract`).

// guide:begin contract
use std::sync::Arc;

use host_service::store::HostStore;
use warden_domain::ports::{Outbox, UserRepo};

/// A new, empty store per check. `None` would skip the check (say why first); the third value
/// is kept alive until the check ends (a temporary database, say): here nothing.
async fn fresh_store(_check: &str) -> Option<(Arc<dyn UserRepo>, Arc<dyn Outbox>, ())> {
    let store = Arc::new(HostStore::new());
    Some((store.clone(), store, ()))
}

warden_testkit::contract_tests!(fresh_store);
// guide:end contract
