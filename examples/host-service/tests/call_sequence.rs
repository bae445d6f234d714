//! The calls the request path makes on the ports, as a mock test of a host expects them: one
//! `verify` and one `find_by_id` by the authenticator, one `change_status`, and nothing on the
//! outbox or the mailer (the change enqueues its email itself; the worker delivers it later).

// A test reports a broken promise by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// guide:begin call_sequence
use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use host_service::service::HostService;
use mockall::predicate::eq;
use mockall::Sequence;
use warden_domain::ports::{
    MockAuthVerifier, MockMailer, MockOutbox, MockUserRepo, SystemClock, TokenClaims,
};
use warden_domain::use_cases::{DeliverNotifications, RetryPolicy};
use warden_domain::{
    AccountStatus, Authority, EmailAddress, Role, StatusAction, StatusChangeOutcome, User, UserId,
};

fn account(role: Role) -> User {
    User {
        id: UserId::generate(),
        email: EmailAddress::parse(&format!("{}@host.example", role.as_str())).unwrap(),
        first_name: "Ada".into(),
        last_name: String::new(),
        role,
        status: AccountStatus::Active,
        token_version: 3,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

/// The host's request path wired to mocks, as at start-up; the outbox and the mailer belong to
/// the delivery worker only, and have no expectations: any call to them fails the test.
fn wire(users: MockUserRepo, verifier: MockAuthVerifier) -> (HostService, DeliverNotifications) {
    let clock = Arc::new(SystemClock);
    let service = HostService::new(Arc::new(users), Arc::new(verifier), clock.clone());
    let (outbox, mailer) = (Arc::new(MockOutbox::new()), Arc::new(MockMailer::new()));
    let worker = DeliverNotifications::new(outbox, mailer, clock, RetryPolicy::default());
    (service, worker)
}

#[tokio::test]
async fn a_deactivation_reads_the_admin_once_and_changes_the_status_once() {
    let (admin, member) = (account(Role::Admin), account(Role::User));
    let mut order = Sequence::new();
    let mut verifier = MockAuthVerifier::new();
    let claims = TokenClaims {
        subject: admin.id,
        token_version: admin.token_version,
        valid_until: Utc::now() + TimeDelta::hours(1),
    };
    verifier
        .expect_verify()
        .with(eq("admin-token"))
        .times(1)
        .in_sequence(&mut order)
        .return_once(move |_| Ok(claims));
    let mut users = MockUserRepo::new();
    let found = admin.clone();
    users
        .expect_find_by_id()
        .with(eq(admin.id))
        .times(1)
        .in_sequence(&mut order)
        .return_once(move |_| Ok(Some(found)));
    let (admin_id, version, target) = (admin.id, admin.token_version, member.id);
    let deactivated = User {
        status: AccountStatus::Deactivated(warden_domain::Deactivation {
            at: Utc::now(),
            by: Some(admin.id),
            reason: None,
            until: None,
        }),
        ..member
    };
    users
        .expect_change_status()
        .withf(move |change| {
            change.action == StatusAction::Deactivate
                && change.target == target
                && *change.actor.authority()
                    == Authority::Account {
                        account: admin_id,
                        token_version: version,
                        role: warden_domain::Role::Admin,
                    }
        })
        .times(1)
        .in_sequence(&mut order)
        .return_once(|_| Ok(StatusChangeOutcome::Applied(Box::new(deactivated))));

    let (service, _worker) = wire(users, verifier);
    let reply = service.deactivate(Some("admin-token"), target, "").await;
    assert_eq!(reply.status, 200);
}
// guide:end call_sequence

/// The same path, with the store finding at commit that the admin lost its authority: refused
/// as the caller's credentials would be.
#[tokio::test]
async fn authority_withdrawn_before_commit_is_unauthorized() {
    let admin = account(Role::Admin);
    let mut verifier = MockAuthVerifier::new();
    let claims = TokenClaims {
        subject: admin.id,
        token_version: admin.token_version,
        valid_until: Utc::now() + TimeDelta::hours(1),
    };
    verifier
        .expect_verify()
        .times(1)
        .return_once(move |_| Ok(claims));
    let mut users = MockUserRepo::new();
    users
        .expect_find_by_id()
        .times(1)
        .return_once(move |_| Ok(Some(admin)));
    users
        .expect_change_status()
        .times(1)
        .return_once(|_| Ok(StatusChangeOutcome::ActorRevoked));

    let (service, _worker) = wire(users, verifier);
    let reply = service.reactivate(Some("t"), UserId::generate()).await;
    assert_eq!((reply.status, reply.message), (401, "Unauthorized"));
}
