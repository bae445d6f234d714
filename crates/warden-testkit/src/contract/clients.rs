//! The conformance suite of [`ClientRepo`] adapters. Each check takes a store that may hold
//! clients of earlier checks (never of concurrent ones): it names its clients uniquely and looks
//! only at those.

use std::sync::Arc;

use chrono::{DateTime, SubsecRound, TimeDelta, TimeZone, Utc};
use uuid::Uuid;
use warden_domain::ports::{ClientRepo, StoreError};
use warden_domain::{
    Actor, Authorized, Client, ClientName, ClientRef, NewClient, Scope, TokenHash,
};

use super::helpers::{done, system_write};

/// A revocation on the system's authority at `at`.
fn write_at(at: DateTime<Utc>) -> Authorized {
    Authorized::new(Actor::system(), at)
}

/// Generates one `#[tokio::test]` per client check. `$fresh` is an
/// `async fn(test_name: &str) -> Option<(Arc<dyn ClientRepo>, G)>` giving a new, migrated store.
#[macro_export]
macro_rules! client_contract_tests {
    ($fresh:path) => {
        $crate::client_contract_tests!(@each $fresh;
            clients_round_trip_and_are_found_by_hash,
            clients_live_names_and_hashes_are_unique,
            clients_revoke_once_and_at_once,
            clients_concurrent_revocations_apply_once,
        );
    };
    (@each $fresh:path; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let Some((clients, _guard)) = $fresh(stringify!($check)).await else {
                    return;
                };
                $crate::contract::$check(clients).await;
            }
        )*
    };
}

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, minute, 0).unwrap() + TimeDelta::nanoseconds(123_456_789)
}

fn unique_name(stem: &str) -> ClientName {
    ClientName::parse(&format!("{stem}-{}", Uuid::now_v7().simple())).unwrap()
}

fn random_hash() -> TokenHash {
    TokenHash::new(Uuid::new_v4().as_bytes().repeat(2))
}

fn new_client(name: &ClientName, scopes: &[Scope], created_at: DateTime<Utc>) -> NewClient {
    NewClient {
        id: Uuid::now_v7(),
        name: name.clone(),
        scopes: scopes.to_vec(),
        token_hash: random_hash(),
        created_at,
    }
}

async fn listed(clients: &dyn ClientRepo, ids: &[Uuid]) -> Vec<Client> {
    let list = clients.list().await.unwrap();
    list.into_iter().filter(|c| ids.contains(&c.id)).collect()
}

/// Create returns the stored client (to the microsecond); list shows every client oldest first;
/// a token hash finds its live client and nothing else.
pub async fn clients_round_trip_and_are_found_by_hash(clients: Arc<dyn ClientRepo>) {
    let first = new_client(
        &unique_name("first"),
        &[Scope::Introspect, Scope::Scim],
        at(2),
    );
    let second = new_client(&unique_name("second"), &[Scope::Scim], at(1));
    let made = done(
        clients
            .create(first.clone(), &system_write())
            .await
            .unwrap(),
    );
    assert_eq!(made.id, first.id);
    assert_eq!(made.name, first.name);
    assert_eq!(made.scopes, vec![Scope::Introspect, Scope::Scim]);
    assert_eq!(made.created_at, at(2).trunc_subsecs(6));
    assert_eq!(made.revoked_at, None);
    let other = done(
        clients
            .create(second.clone(), &system_write())
            .await
            .unwrap(),
    );
    assert_eq!(
        listed(clients.as_ref(), &[first.id, second.id]).await,
        vec![other.clone(), made.clone()]
    );
    let found = clients.find_live_by_token_hash(&first.token_hash).await;
    assert_eq!(found.unwrap(), Some(made));
    let found = clients.find_live_by_token_hash(&second.token_hash).await;
    assert_eq!(found.unwrap(), Some(other));
    let unknown = clients.find_live_by_token_hash(&random_hash()).await;
    assert_eq!(unknown.unwrap(), None);
}

/// Two live clients never share a name, and no two clients share an id or a token hash; a
/// revoked client's name may be given again.
pub async fn clients_live_names_and_hashes_are_unique(clients: Arc<dyn ClientRepo>) {
    let name = unique_name("dup");
    let original = new_client(&name, &[Scope::Scim], at(1));
    done(
        clients
            .create(original.clone(), &system_write())
            .await
            .unwrap(),
    );
    let same_name = new_client(&name, &[Scope::Introspect], at(2));
    let refused = clients
        .create(same_name.clone(), &system_write())
        .await
        .map(done);
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    let mut same_hash = new_client(&unique_name("hash"), &[Scope::Scim], at(2));
    same_hash.token_hash = original.token_hash.clone();
    let refused = clients.create(same_hash, &system_write()).await.map(done);
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    let mut same_id = new_client(&unique_name("id"), &[Scope::Scim], at(2));
    same_id.id = original.id;
    let refused = clients.create(same_id, &system_write()).await.map(done);
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    assert_eq!(listed(clients.as_ref(), &[original.id]).await.len(), 1);

    let revoked = clients
        .revoke(&ClientRef::Name(name.clone()), &write_at(at(3)))
        .await
        .map(done);
    assert!(revoked.unwrap().is_some());
    let again = done(
        clients
            .create(same_name.clone(), &system_write())
            .await
            .unwrap(),
    );
    assert_eq!(again.name, name);
    assert!(again.is_live());
}

/// Revoking sets `revoked_at` once, by id or by name, and the token stops finding the client
/// at once; a revoked or unknown client is not revoked again.
pub async fn clients_revoke_once_and_at_once(clients: Arc<dyn ClientRepo>) {
    let by_name = new_client(&unique_name("by-name"), &[Scope::Introspect], at(1));
    let by_id = new_client(&unique_name("by-id"), &[Scope::Scim], at(2));
    done(
        clients
            .create(by_name.clone(), &system_write())
            .await
            .unwrap(),
    );
    done(
        clients
            .create(by_id.clone(), &system_write())
            .await
            .unwrap(),
    );

    let revoked = clients
        .revoke(&ClientRef::Name(by_name.name.clone()), &write_at(at(5)))
        .await
        .map(done)
        .unwrap()
        .expect("a live client is revoked");
    assert_eq!(revoked.id, by_name.id);
    assert_eq!(revoked.revoked_at, Some(at(5).trunc_subsecs(6)));
    let found = clients.find_live_by_token_hash(&by_name.token_hash).await;
    assert_eq!(found.unwrap(), None);
    // The other client is untouched.
    let found = clients.find_live_by_token_hash(&by_id.token_hash).await;
    assert!(found.unwrap().is_some_and(|c| c.is_live()));

    let revoked = clients
        .revoke(&ClientRef::Id(by_id.id), &write_at(at(6)))
        .await
        .map(done);
    assert_eq!(
        revoked.unwrap().unwrap().revoked_at,
        Some(at(6).trunc_subsecs(6))
    );
    for which in [
        ClientRef::Id(by_id.id),
        ClientRef::Name(by_name.name.clone()),
        ClientRef::Id(Uuid::now_v7()),
        ClientRef::Name(unique_name("nobody")),
    ] {
        assert_eq!(
            clients
                .revoke(&which, &write_at(at(9)))
                .await
                .map(done)
                .unwrap(),
            None,
            "{which:?}"
        );
    }
    let list = listed(clients.as_ref(), &[by_name.id, by_id.id]).await;
    let revoked_at: Vec<_> = list.iter().map(|c| c.revoked_at).collect();
    assert_eq!(
        revoked_at,
        vec![Some(at(5).trunc_subsecs(6)), Some(at(6).trunc_subsecs(6))]
    );
}

/// Of many concurrent revocations of one client, exactly one applies.
pub async fn clients_concurrent_revocations_apply_once(clients: Arc<dyn ClientRepo>) {
    let client = new_client(&unique_name("race"), &[Scope::Scim], at(1));
    done(
        clients
            .create(client.clone(), &system_write())
            .await
            .unwrap(),
    );
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (clients, id) = (clients.clone(), client.id);
            tokio::spawn(async move {
                clients
                    .revoke(&ClientRef::Id(id), &write_at(at(10 + i)))
                    .await
                    .map(done)
            })
        })
        .collect();
    let mut applied = 0;
    for task in tasks {
        if task.await.unwrap().unwrap().is_some() {
            applied += 1;
        }
    }
    assert_eq!(applied, 1);
}
