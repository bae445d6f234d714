//! The domain's own cost per deactivation request, on `warden-testkit`'s in-memory store (the
//! adapter held to the same conformance suite as the databases) and a one-token verifier: what
//! Warden adds on top of the database and of HTTP. `cargo bench -p warden-domain`.
//!
//! The store never waits, so each future is polled once with a no-op waker: no executor cost is
//! measured, only the use cases (the self-deactivation rule, the clock, two UUIDv7s, the
//! trait-object calls and their boxed futures, the outcome mapping) and the store's own work
//! under its mutex (the decision, the update, one audit event and one outbox entry).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_debug_implementations
)]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use async_trait::async_trait;
use chrono::Utc;
use warden_domain::ports::{AuthVerifier, InvalidToken, SystemClock, TokenClaims, UserRepo};
use warden_domain::use_cases::{Authenticator, DeactivateUser};
use warden_domain::{EmailAddress, NewUser, PasswordHash, Reason, Role, User, UserId};
use warden_testkit::MemoryStore;

fn main() {
    divan::main();
}

/// Runs a future that never waits.
fn now<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the in-memory store waited"),
    }
}

/// A new active account in `store`.
fn user(store: &MemoryStore, role: Role) -> User {
    let id = UserId::generate();
    now(store.create(NewUser {
        id,
        email: EmailAddress::parse(&format!("{}@example.com", id.as_uuid().simple())).unwrap(),
        password_hash: PasswordHash::new(String::new()),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        role,
        created_at: Utc::now(),
    }))
    .unwrap()
}

/// Accepts one token, for the admin.
struct Verifier(TokenClaims);

#[async_trait]
impl AuthVerifier for Verifier {
    async fn verify(&self, token: &str) -> Result<TokenClaims, InvalidToken> {
        if token == "token" {
            Ok(self.0)
        } else {
            Err(InvalidToken("unknown".into()))
        }
    }
}

struct Fixture {
    store: Arc<MemoryStore>,
    auth: Authenticator,
    deactivate: DeactivateUser,
}

fn fixture() -> Fixture {
    let store = Arc::new(MemoryStore::new());
    let admin = user(&store, Role::Admin);
    let claims = TokenClaims {
        subject: admin.id,
        token_version: 0,
        valid_until: chrono::DateTime::<chrono::Utc>::MAX_UTC,
    };
    let repo: Arc<dyn UserRepo> = store.clone();
    Fixture {
        store,
        auth: Authenticator::new(Arc::new(Verifier(claims)), repo.clone()),
        deactivate: DeactivateUser::new(repo, Arc::new(SystemClock)),
    }
}

/// `Authenticator::admin`: the token's claims, the caller's account and its checks.
#[divan::bench]
fn authenticate(bencher: divan::Bencher) {
    let f = fixture();
    bencher.bench_local(|| now(f.auth.admin(Some(divan::black_box("token")))).unwrap());
}

/// `DeactivateUser::execute` for an admin already authenticated, each time on a new active
/// user (created outside the measurement).
#[divan::bench]
fn deactivate(bencher: divan::Bencher) {
    let f = fixture();
    let admin = now(f.auth.admin(Some("token"))).unwrap();
    bencher
        .with_inputs(|| user(&f.store, Role::User).id)
        .bench_local_values(|target| {
            let reason = Reason::parse("Benchmark").unwrap();
            now(f.deactivate.execute(&admin, target, reason)).unwrap()
        });
}

/// Both, as one HTTP request runs them.
#[divan::bench]
fn request(bencher: divan::Bencher) {
    let f = fixture();
    bencher
        .with_inputs(|| user(&f.store, Role::User).id)
        .bench_local_values(|target| {
            let admin = now(f.auth.admin(Some(divan::black_box("token")))).unwrap();
            let reason = Reason::parse("Benchmark").unwrap();
            now(f.deactivate.execute(&admin, target, reason)).unwrap()
        });
}
