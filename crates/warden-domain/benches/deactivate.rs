//! The domain's own cost per deactivation request, with in-memory fakes of every port: what
//! Warden adds on top of the database and of HTTP. `cargo bench -p warden-domain`.
//!
//! The fakes never wait, so each future is polled once with a no-op waker: no executor cost is
//! measured, only the use cases (id parsing, the self-deactivation rule, the clock, two UUIDv7s,
//! the trait-object calls and their boxed futures, the outcome mapping).
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
use uuid::Uuid;
use warden_domain::ports::{
    AuthVerifier, InvalidToken, StoreError, SystemClock, TokenClaims, UserRepo,
};
use warden_domain::use_cases::{Authenticator, DeactivateUser};
use warden_domain::{
    AccountStatus, AuditEvent, EmailAddress, NewUser, PasswordHash, Reason, Role, StatusChange,
    StatusChangeOutcome, User, UserId,
};

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
        Poll::Pending => panic!("an in-memory fake waited"),
    }
}

fn user(role: Role) -> User {
    let id = UserId::generate();
    User {
        id,
        email: EmailAddress::parse(&format!("{}@example.com", id.as_uuid().simple())).unwrap(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        role,
        status: AccountStatus::Active,
        token_version: 0,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

/// Finds the admin; applies every change (as the store does for an active user).
struct Users {
    admin: User,
    target: User,
}

#[async_trait]
impl UserRepo for Users {
    async fn create(&self, _: NewUser) -> Result<User, StoreError> {
        unimplemented!()
    }

    async fn find_by_id(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        Ok((*id == self.admin.id).then(|| self.admin.clone()))
    }

    async fn find_by_email(&self, _: &EmailAddress) -> Result<Option<User>, StoreError> {
        unimplemented!()
    }

    async fn find_credentials(
        &self,
        _: &EmailAddress,
    ) -> Result<Option<(User, PasswordHash)>, StoreError> {
        unimplemented!()
    }

    async fn change_status(&self, change: StatusChange) -> Result<StatusChangeOutcome, StoreError> {
        let mut user = self.target.clone();
        user.status = AccountStatus::Deactivated(warden_domain::Deactivation {
            at: change.at,
            by: Some(change.actor.id),
            reason: change.reason,
        });
        user.token_version += 1;
        Ok(StatusChangeOutcome::Applied(Box::new(user)))
    }

    async fn events(
        &self,
        _: &UserId,
        _: Option<Uuid>,
        _: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        unimplemented!()
    }
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
    auth: Authenticator,
    deactivate: DeactivateUser,
    target: UserId,
}

fn fixture() -> Fixture {
    let users = Arc::new(Users {
        admin: user(Role::Admin),
        target: user(Role::User),
    });
    let claims = TokenClaims {
        subject: users.admin.id,
        token_version: 0,
        valid_until: chrono::DateTime::<chrono::Utc>::MAX_UTC,
    };
    let target = users.target.id;
    let repo: Arc<dyn UserRepo> = users;
    Fixture {
        auth: Authenticator::new(Arc::new(Verifier(claims)), repo.clone()),
        deactivate: DeactivateUser::new(repo, Arc::new(SystemClock)),
        target,
    }
}

/// `Authenticator::admin`: the token's claims, the caller's account and its checks.
#[divan::bench]
fn authenticate(bencher: divan::Bencher) {
    let f = fixture();
    bencher.bench_local(|| now(f.auth.admin(Some(divan::black_box("token")))).unwrap());
}

/// `DeactivateUser::execute` for an admin already authenticated.
#[divan::bench]
fn deactivate(bencher: divan::Bencher) {
    let f = fixture();
    let admin = now(f.auth.admin(Some("token"))).unwrap();
    bencher.bench_local(|| {
        let reason = Reason::parse("Benchmark").unwrap();
        now(f
            .deactivate
            .execute(&admin, divan::black_box(f.target), reason))
        .unwrap()
    });
}

/// Both, as one HTTP request runs them.
#[divan::bench]
fn request(bencher: divan::Bencher) {
    let f = fixture();
    bencher.bench_local(|| {
        let admin = now(f.auth.admin(Some(divan::black_box("token")))).unwrap();
        let reason = Reason::parse("Benchmark").unwrap();
        now(f
            .deactivate
            .execute(&admin, divan::black_box(f.target), reason))
        .unwrap()
    });
}
