//! Another service reusing Warden's deactivation rules with its own adapters.
//!
//! A host service implements the ports it needs (here: an in-memory `UserRepo` and a trivial
//! `AuthVerifier`), builds the use cases, and gets exactly Warden's behaviour: authorisation,
//! token revocation, self-deactivation and last-admin guards, audit and notification.
//! No Warden server code is involved.
//!
//! `cargo run -p warden-domain --example host_service`; `cargo test` runs it too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use uuid::Uuid;
use warden_domain::ports::{
    AuthVerifier, InvalidToken, StoreError, SystemClock, TokenClaims, UserRepo,
};
use warden_domain::use_cases::{Authenticator, DeactivateError, DeactivateUser};
use warden_domain::{
    AccountStatus, AuditEvent, Deactivation, EmailAddress, NewUser, Notification, PasswordHash,
    Role, StatusAction, StatusChange, StatusChangeOutcome, User, UserId,
};

/// The host's store: one mutex makes every change atomic, which is all the contract asks.
#[derive(Default)]
struct MemoryUsers {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    users: HashMap<UserId, User>,
    events: Vec<AuditEvent>,
    outbox: Vec<Notification>,
}

#[async_trait]
impl UserRepo for MemoryUsers {
    async fn create(&self, new: NewUser) -> Result<User, StoreError> {
        let mut state = self.state.lock().unwrap();
        if state.users.values().any(|u| u.email == new.email) {
            return Err(StoreError::Conflict("email taken".into()));
        }
        let user = User {
            id: new.id,
            email: new.email,
            first_name: new.first_name,
            last_name: new.last_name,
            role: new.role,
            status: AccountStatus::Active,
            token_version: 0,
            created_at: new.created_at,
            updated_at: new.created_at,
        };
        state.users.insert(user.id, user.clone());
        Ok(user)
    }

    async fn find_by_id(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        Ok(self.state.lock().unwrap().users.get(id).cloned())
    }

    async fn find_by_email(&self, email: &EmailAddress) -> Result<Option<User>, StoreError> {
        let state = self.state.lock().unwrap();
        Ok(state.users.values().find(|u| &u.email == email).cloned())
    }

    async fn find_credentials(
        &self,
        _email: &EmailAddress,
    ) -> Result<Option<(User, PasswordHash)>, StoreError> {
        Ok(None) // this host signs users in elsewhere
    }

    async fn change_status(&self, change: StatusChange) -> Result<StatusChangeOutcome, StoreError> {
        let mut state = self.state.lock().unwrap();
        let actor = &change.actor;
        let authorised = state.users.get(&actor.id).is_some_and(|a| {
            a.is_active() && a.is_admin() && a.token_version == actor.token_version
        });
        let other_active_admins = state
            .users
            .values()
            .filter(|u| u.id != change.target && u.is_admin() && u.is_active())
            .count();
        let Some(user) = state.users.get_mut(&change.target) else {
            return Ok(StatusChangeOutcome::NotFound);
        };
        if !authorised {
            return Ok(StatusChangeOutcome::ActorRevoked);
        }
        let deactivate = change.action == StatusAction::Deactivate;
        if user.is_active() != deactivate {
            return Ok(StatusChangeOutcome::AlreadyInState);
        }
        if deactivate && user.is_admin() && other_active_admins == 0 {
            return Ok(StatusChangeOutcome::LastActiveAdmin);
        }
        user.status = if deactivate {
            AccountStatus::Deactivated(Deactivation {
                at: change.at,
                by: Some(change.actor.id),
                reason: change.reason.clone(),
            })
        } else {
            AccountStatus::Active
        };
        user.token_version += 1;
        user.updated_at = change.at;
        let user = user.clone();
        state.events.push(AuditEvent {
            id: change.event_id,
            user_id: user.id,
            actor: (&change.actor).into(),
            action: change.action,
            reason: change.reason.clone(),
            at: change.at,
        });
        state.outbox.push(Notification {
            id: change.notification_id,
            action: change.action,
            to: user.email.clone(),
            name: user.display_name().to_owned(),
            reason: change.reason,
            occurred_at: change.at,
        });
        Ok(StatusChangeOutcome::Applied(Box::new(user)))
    }

    async fn events(
        &self,
        user: &UserId,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let state = self.state.lock().unwrap();
        let mut events: Vec<AuditEvent> = state
            .events
            .iter()
            .filter(|e| &e.user_id == user && after.is_none_or(|a| e.id < a))
            .cloned()
            .collect();
        events.sort_by_key(|e| std::cmp::Reverse(e.id));
        events.truncate(limit as usize);
        Ok(events)
    }
}

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

async fn seed(users: &MemoryUsers, email: &str, role: Role) -> User {
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
    let users = Arc::new(MemoryUsers::default());
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

    let state = users.state.lock().unwrap();
    assert_eq!(state.events.len(), 1);
    let email = state.outbox[0].render();
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
