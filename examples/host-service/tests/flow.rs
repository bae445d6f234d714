//! The deactivate/reactivate flow on the host's own store and sessions, with every refusal the
//! host answers.

// A test reports a broken promise by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use host_service::reply::Reply;
use host_service::service::HostService;
use host_service::sessions::HostSessions;
use host_service::store::HostStore;
use warden_domain::ports::{Outbox, OutboxStatus, SystemClock, UserRepo};
use warden_domain::{EmailAddress, NewUser, PasswordHash, Role, User, UserId};

struct Host {
    store: Arc<HostStore>,
    sessions: Arc<HostSessions>,
    service: HostService,
}

fn host() -> Host {
    let store = Arc::new(HostStore::new());
    let sessions = Arc::new(HostSessions::default());
    let service = HostService::new(store.clone(), sessions.clone(), Arc::new(SystemClock));
    Host {
        store,
        sessions,
        service,
    }
}

impl Host {
    async fn account(&self, email: &str, role: Role) -> User {
        let user = self
            .store
            .create(NewUser {
                id: UserId::generate(),
                email: EmailAddress::parse(email).unwrap(),
                password_hash: PasswordHash::new(String::new()),
                first_name: "Ada".into(),
                last_name: String::new(),
                role,
                created_at: Utc::now(),
            })
            .await
            .unwrap();
        self.sessions
            .open(email, &user, Utc::now() + TimeDelta::hours(1));
        user
    }

    async fn current(&self, user: &User) -> User {
        self.store.find_by_id(&user.id).await.unwrap().unwrap()
    }
}

fn answer(reply: &Reply) -> (u16, &'static str) {
    (reply.status, reply.message)
}

#[tokio::test]
async fn deactivation_and_reactivation_are_applied_audited_and_owed() {
    let host = host();
    let admin = host.account("root@host.example", Role::Admin).await;
    let member = host.account("ada@host.example", Role::User).await;
    let token = Some("root@host.example");

    let done = host.service.deactivate(token, member.id, "spam").await;
    assert_eq!(answer(&done), (200, "User deactivated"));
    assert!(!host.current(&member).await.is_active());
    let again = host.service.deactivate(token, member.id, "spam").await;
    assert_eq!(answer(&again), (409, "User is already deactivated"));
    // The member's session was revoked with the change.
    let theirs = host
        .service
        .reactivate(Some("ada@host.example"), admin.id)
        .await;
    assert_eq!(answer(&theirs), (401, "Unauthorized"));

    let back = host.service.reactivate(token, member.id).await;
    assert_eq!(answer(&back), (200, "User reactivated"));
    let again = host.service.reactivate(token, member.id).await;
    assert_eq!(answer(&again), (409, "User is already active"));

    assert_eq!(
        host.store.events(&member.id, None, 10).await.unwrap().len(),
        2
    );
    let owed = host
        .store
        .list(OutboxStatus::Pending, None, 10)
        .await
        .unwrap();
    assert_eq!(owed.len(), 2, "one email per change, delivered later");
    assert!(owed[1].notification.render().text_body.contains("spam"));
}

#[tokio::test]
async fn every_refusal_has_its_answer() {
    let host = host();
    let admin = host.account("root@host.example", Role::Admin).await;
    let member = host.account("ada@host.example", Role::User).await;
    let token = Some("root@host.example");

    let cases = [
        (None, member.id, "", (401, "Unauthorized")),
        (Some("forged"), member.id, "", (401, "Unauthorized")),
        (Some("ada@host.example"), admin.id, "", (403, "Forbidden")),
        (token, UserId::generate(), "", (404, "User not found")),
        (token, admin.id, "", (400, "You cannot deactivate yourself")),
        (token, member.id, "\u{202e}", (422, "Invalid reason")),
    ];
    for (token, target, why, expected) in cases {
        let reply = host.service.deactivate(token, target, why).await;
        assert_eq!(answer(&reply), expected, "{token:?} -> {target}");
        assert!(host.current(&member).await.is_active());
    }

    // Another admin deactivates the first; the first's own token is then refused.
    let other = host.account("ops@host.example", Role::Admin).await;
    let ops = Some("ops@host.example");
    assert_eq!(host.service.deactivate(ops, admin.id, "").await.status, 200);
    let revoked = host.service.deactivate(token, member.id, "").await;
    assert_eq!(answer(&revoked), (401, "Unauthorized"));
    let last = host.service.deactivate(ops, other.id, "").await;
    assert_eq!(answer(&last), (400, "You cannot deactivate yourself"));
}

#[tokio::test]
async fn the_last_active_admin_stays() {
    let host = host();
    let admin = host.account("root@host.example", Role::Admin).await;
    let other = host.account("ops@host.example", Role::Admin).await;
    let token = Some("root@host.example");

    assert_eq!(
        host.service.deactivate(token, other.id, "").await.status,
        200
    );
    // A system-run change passes the same guards: the only active admin is kept.
    let deactivate =
        warden_domain::use_cases::DeactivateUser::new(host.store.clone(), Arc::new(SystemClock));
    let system = warden_domain::use_cases::System::scheduler();
    let refused = deactivate
        .execute(&system, admin.id, None)
        .await
        .unwrap_err();
    assert_eq!(
        answer(&refused.into()),
        (409, "The last active admin stays")
    );
    assert!(host.current(&admin).await.is_active());
}
