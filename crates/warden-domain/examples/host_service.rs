//! Another service reusing Warden's deactivation rules with its own adapters.
//!
//! A host service implements the ports it needs (here: `warden-testkit`'s in-memory `UserRepo` + `Outbox`
//! and a trivial `AuthVerifier` of its own), builds the use cases, and gets exactly Warden's behaviour: authorisation,
//! token revocation, self-deactivation and last-admin guards, audit and notification.
//! No Warden server code is involved.
//!
//! `cargo run -p warden-domain --example host_service`; `cargo test` runs it too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use warden_domain::ports::{
    AuthVerifier, InvalidToken, Outbox, OutboxStatus, SystemClock, TokenClaims, UserRepo,
};
use warden_domain::use_cases::{Authenticator, DeactivateError, DeactivateUser};
use warden_domain::{EmailAddress, NewUser, PasswordHash, Role, User, UserId};
// The host's store: Warden's in-memory adapter, which passes the same conformance suite as
// the PostgreSQL and SQLite stores. A real host would put its own database adapter here.
use warden_testkit::MemoryStore;

/// The host's own session tokens: an opaque token maps to an account and token version.
#[derive(Default)]
struct SessionTokens(Mutex<HashMap<String, TokenClaims>>);

#[async_trait]
impl AuthVerifier for SessionTokens {
    async fn verify(&self, token: &str) -> Result<TokenClaims, InvalidToken> {
        let sessions = self.0.lock().unwrap();
        sessions
            .get(token)
            .copied()
            .ok_or_else(|| InvalidToken("unknown session".into()))
    }
}

async fn seed(users: &MemoryStore, email: &str, role: Role) -> User {
    users
        .create(NewUser {
            id: UserId::generate(),
            email: EmailAddress::parse(email).unwrap(),
            password_hash: PasswordHash::new(String::new()),
            first_name: email.split('@').next().unwrap_or_default().into(),
            last_name: String::new(),
            role,
            created_at: chrono::Utc::now(),
        })
        .await
        .unwrap()
}

async fn demo() {
    let users = Arc::new(MemoryStore::new());
    let sessions = Arc::new(SessionTokens::default());
    let admin = seed(&users, "root@host.example", Role::Admin).await;
    let member = seed(&users, "ada@host.example", Role::User).await;
    sessions.0.lock().unwrap().insert(
        "admin-session".into(),
        TokenClaims {
            subject: admin.id,
            token_version: admin.token_version,
            valid_until: chrono::Utc::now() + chrono::TimeDelta::hours(1),
        },
    );

    let auth = Authenticator::new(sessions.clone(), users.clone());
    let deactivate = DeactivateUser::new(users.clone(), Arc::new(SystemClock));

    let acting = auth.admin(Some("admin-session")).await.unwrap();
    let done = deactivate
        .execute(
            &acting,
            member.id,
            warden_domain::Reason::parse("spam").unwrap(),
        )
        .await
        .unwrap();
    println!("deactivated {} ({})", done.email, done.id);
    assert!(!done.is_active());

    let again = deactivate.execute(&acting, member.id, None).await;
    assert!(matches!(again, Err(DeactivateError::AlreadyDeactivated)));
    let own = deactivate.execute(&acting, admin.id, None).await;
    assert!(matches!(own, Err(DeactivateError::SelfDeactivation)));

    let events = users.events(&member.id, None, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    let owed = users.list(OutboxStatus::Pending, None, 10).await.unwrap();
    assert_eq!(owed.len(), 1);
    let email = owed[0].notification.render();
    println!("owed email to {}: {:?}", email.to, email.subject);
    assert!(email.text_body.contains("spam"));
}

fn main() {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(demo());
}

#[test]
fn the_example_runs() {
    main();
}
