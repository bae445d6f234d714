use std::sync::Arc;

use uuid::Uuid;

use super::*;
use crate::ports::{MockClientRepo, MockClientTokens, MockProvisioningRepo, MockUserRepo};
use crate::use_cases::test_support::{at, deactivated, fixed_clock, user};
use crate::use_cases::{ClientAuthenticator, Principal};
use crate::{
    ActorKind, Client, ClientName, Scope, StatusAction, StatusChangeOutcome, TokenHash, User,
};

async fn provisioner(scopes: &[Scope]) -> Option<Provisioner> {
    let client = Client {
        id: Uuid::now_v7(),
        name: ClientName::parse("okta").unwrap(),
        scopes: scopes.to_vec(),
        created_at: at(),
        created_by: None,
        revoked_at: None,
    };
    let mut repo = MockClientRepo::new();
    repo.expect_find_live_by_token_hash()
        .returning(move |_| Ok(Some(client.clone())));
    let mut tokens = MockClientTokens::new();
    tokens
        .expect_hash()
        .returning(|token| TokenHash::new(token.as_bytes().to_vec()));
    let auth = ClientAuthenticator::new(Arc::new(repo), Arc::new(tokens));
    let required = scopes[0];
    let admitted = auth.client(Some("wdn_x"), required).await.unwrap();
    Provisioner::new(&admitted)
}

fn found(user: User) -> MockProvisioningRepo {
    let mut accounts = MockProvisioningRepo::new();
    accounts.expect_find().returning(move |_| {
        Ok(Some(ProvisionedUser {
            user: user.clone(),
            external_id: None,
        }))
    });
    accounts
}

fn provision(users: MockUserRepo, accounts: MockProvisioningRepo) -> Provision {
    Provision::new(Arc::new(users), Arc::new(accounts), fixed_clock())
}

#[tokio::test]
async fn only_a_client_admitted_for_provisioning_is_a_provisioner() {
    assert!(provisioner(&[Scope::Introspect]).await.is_none());
    let by = provisioner(&[Scope::Scim]).await.unwrap();
    assert_eq!(by.actor().kind(), ActorKind::Client);
    assert_eq!(by.name(), "okta");
    assert!(by.is_valid_at(at()));
}

#[tokio::test]
async fn deactivation_goes_through_the_status_use_case_as_the_client() {
    let by = provisioner(&[Scope::Scim]).await.unwrap();
    let target = user(Role::User);
    let client = by.actor().clone();
    let mut users = MockUserRepo::new();
    let done = deactivated(target.clone());
    users
        .expect_change_status()
        .withf(move |c| {
            c.action == StatusAction::Deactivate
                && c.actor == client
                && c.reason.as_ref().map(Reason::as_str) == Some("Deprovisioned via SCIM by okta")
        })
        .times(1)
        .returning(move |_| Ok(StatusChangeOutcome::Applied(Box::new(done.clone()))));
    let (_, change) = provision(users, found(target.clone()))
        .set_active(&by, target.id, false)
        .await
        .unwrap();
    assert_eq!(change, Some(StatusAction::Deactivate));
}

#[tokio::test]
async fn a_repeated_deactivation_changes_nothing_and_notifies_nobody() {
    let by = provisioner(&[Scope::Scim]).await.unwrap();
    let target = deactivated(user(Role::User));
    // No `change_status` expected: a call would panic.
    let (answer, change) = provision(MockUserRepo::new(), found(target.clone()))
        .set_active(&by, target.id, false)
        .await
        .unwrap();
    assert_eq!(answer.user, target);
    assert_eq!(change, None);
}

#[tokio::test]
async fn the_last_active_admin_is_refused_and_not_removed() {
    // Only a client that may provision administrators reaches the last-admin guard.
    let by = provisioner(&[Scope::Scim, Scope::ScimPrivileged])
        .await
        .unwrap();
    let target = user(Role::Admin);
    let mut users = MockUserRepo::new();
    users
        .expect_change_status()
        .returning(|_| Ok(StatusChangeOutcome::LastActiveAdmin));
    // No `remove` expected.
    let refused = provision(users, found(target.clone()))
        .remove(&by, target.id, None)
        .await;
    assert!(matches!(refused, Err(ProvisionError::LastActiveAdmin)));
}

#[tokio::test]
async fn created_accounts_have_no_password_and_a_taken_email_is_named() {
    let by = provisioner(&[Scope::Scim]).await.unwrap();
    let mut accounts = MockProvisioningRepo::new();
    accounts
        .expect_create()
        .withf(|new, external, by| {
            !new.password_hash.is_set()
                && new.role == Role::User
                && new.first_name == "Ada"
                && external.as_ref().map(ExternalId::as_str) == Some("00u1")
                && by.actor.kind() == ActorKind::Client
        })
        .times(1)
        .returning(|_, _, _| Err(StoreError::Conflict("users.email".into())));
    let input = ProfileInput {
        email: "Ada@Example.com".into(),
        first_name: " Ada ".into(),
        last_name: "Lovelace".into(),
        external_id: Some("00u1".into()),
    };
    let taken = provision(MockUserRepo::new(), accounts)
        .create(&by, input.clone())
        .await;
    assert!(matches!(taken, Err(ProvisionError::EmailTaken)));
    let bad = ProfileInput {
        email: "not an email".into(),
        ..input
    };
    let refused = provision(MockUserRepo::new(), MockProvisioningRepo::new())
        .create(&by, bad)
        .await;
    assert!(matches!(refused, Err(ProvisionError::InvalidEmail)));
}

#[tokio::test]
async fn a_client_revoked_before_commit_provisions_nothing() {
    let by = provisioner(&[Scope::Scim]).await.unwrap();
    let mut accounts = MockProvisioningRepo::new();
    accounts
        .expect_create()
        .returning(|_, _, _| Ok(crate::Guarded::ActorRevoked));
    let input = ProfileInput {
        email: "ada@example.com".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        external_id: None,
    };
    let refused = provision(MockUserRepo::new(), accounts)
        .create(&by, input)
        .await;
    assert!(matches!(refused, Err(ProvisionError::ActorRevoked)));
}

#[test]
fn the_reason_names_the_client_and_a_long_name_is_shortened_not_dropped() {
    assert_eq!(
        provisioning_reason("okta", false).as_str(),
        "Deprovisioned via SCIM by okta"
    );
    assert_eq!(
        provisioning_reason("entra-id", true).as_str(),
        "Reprovisioned via SCIM by entra-id"
    );
    let long = "n".repeat(Reason::MAX_CHARS * 2);
    let reason = provisioning_reason(&long, false);
    assert_eq!(reason.as_str().chars().count(), Reason::MAX_CHARS);
    assert!(reason.as_str().starts_with("Deprovisioned via SCIM by nnn"));
    assert!(reason.as_str().ends_with("n..."));
    // Exactly at the limit: kept whole.
    let room = Reason::MAX_CHARS - "Reprovisioned via SCIM by ".len();
    let fits = "m".repeat(room);
    assert!(provisioning_reason(&fits, true).as_str().ends_with(&fits));
    // Characters a reason may not hold are left out, not a reason to drop it.
    assert_eq!(
        provisioning_reason("ok\u{202e}ta\n", false).as_str(),
        "Deprovisioned via SCIM by okta"
    );
}

#[tokio::test]
async fn a_client_without_the_privileged_scope_leaves_staff_accounts_alone() {
    let by = provisioner(&[Scope::Scim]).await.unwrap();
    for role in [Role::Admin, Role::Helpdesk] {
        let target = user(role);
        // No store write is expected: the mock panics on any.
        let refused = provision(MockUserRepo::new(), found(target.clone()))
            .remove(&by, target.id, None)
            .await;
        assert!(
            matches!(refused, Err(ProvisionError::TargetForbidden)),
            "{role:?}"
        );
    }
}
