use std::sync::Arc;

use super::*;
use crate::ports::{MockClientRepo, MockClientTokens};
use crate::use_cases::test_support::{at, fixed_clock};
use crate::{Guarded, TokenHash};

fn client(scopes: &[Scope], revoked: bool) -> Client {
    Client {
        id: Uuid::now_v7(),
        name: ClientName::parse("billing").unwrap(),
        scopes: scopes.to_vec(),
        created_at: at(),
        created_by: None,
        revoked_at: revoked.then(at),
    }
}

fn tokens() -> MockClientTokens {
    let mut tokens = MockClientTokens::new();
    tokens
        .expect_hash()
        .returning(|token| TokenHash::new(token.as_bytes().to_vec()));
    tokens.expect_generate().returning(|| {
        (
            ClientSecret::new("wdn_new".into()),
            TokenHash::new(b"wdn_new".to_vec()),
        )
    });
    tokens
}

fn authenticator(found: Option<Client>) -> ClientAuthenticator {
    let mut repo = MockClientRepo::new();
    repo.expect_find_live_by_token_hash()
        .withf(|hash| hash.as_bytes() == b"wdn_token")
        .returning(move |_| Ok(found.clone()));
    ClientAuthenticator::new(Arc::new(repo), Arc::new(tokens()))
}

#[tokio::test]
async fn a_live_client_with_the_scope_is_admitted() {
    let found = client(&[Scope::Introspect], false);
    let admitted = authenticator(Some(found.clone()))
        .client(Some("wdn_token"), Scope::Introspect)
        .await
        .unwrap();
    assert_eq!(admitted.client(), &found);
    assert_eq!(admitted.granted(), Scope::Introspect);
    let actor = admitted.actor();
    assert_eq!(actor.kind(), crate::ActorKind::Client);
    assert_eq!(actor.name(), "billing");
    assert_eq!(
        actor.authority(),
        &crate::Authority::Client { client: found.id }
    );
}

#[tokio::test]
async fn missing_unknown_or_revoked_tokens_are_unauthenticated() {
    let auth = authenticator(None);
    for token in [None, Some("wdn_token")] {
        let refused = auth.client(token, Scope::Introspect).await.unwrap_err();
        assert!(matches!(refused, ClientAccessError::Unauthenticated(_)));
    }
    // A store that wrongly returned a revoked client is still not believed.
    let auth = authenticator(Some(client(&[Scope::Introspect], true)));
    let refused = auth.client(Some("wdn_token"), Scope::Introspect).await;
    assert!(matches!(
        refused,
        Err(ClientAccessError::Unauthenticated(_))
    ));
    let long = "x".repeat(600);
    let refused = authenticator(None).client(Some(&long), Scope::Scim).await;
    assert!(matches!(
        refused,
        Err(ClientAccessError::Unauthenticated(_))
    ));
}

#[tokio::test]
async fn a_client_without_the_scope_is_forbidden() {
    let auth = authenticator(Some(client(&[Scope::Scim], false)));
    let refused = auth.client(Some("wdn_token"), Scope::Introspect).await;
    assert!(matches!(
        refused,
        Err(ClientAccessError::Forbidden(Scope::Introspect))
    ));
}

#[tokio::test]
async fn create_stores_the_hash_and_returns_the_token_once() {
    let mut repo = MockClientRepo::new();
    repo.expect_create()
        .withf(|new, by| {
            new.token_hash.as_bytes() == b"wdn_new"
                && new.scopes == [Scope::Introspect, Scope::Scim]
                && new.created_at == at()
                && by.at == at()
                && by.actor.kind() == crate::ActorKind::Operator
                && by.actor.name() == "ops"
                && *by.actor.authority() == crate::Authority::System
        })
        .returning(|new, _| {
            Ok(Guarded::Applied(Client {
                id: new.id,
                name: new.name,
                scopes: new.scopes,
                created_at: new.created_at,
                created_by: None,
                revoked_at: None,
            }))
        });
    let manage = ManageClients::new(Arc::new(repo), Arc::new(tokens()), fixed_clock());
    let operator = Operator::from_os_user("ops");
    let by = ClientManager::Operator(&operator);
    let name = ClientName::parse("billing").unwrap();
    let created = manage
        .create(
            by,
            name.clone(),
            vec![Scope::Scim, Scope::Introspect, Scope::Scim],
        )
        .await
        .unwrap();
    assert_eq!(created.token.expose(), "wdn_new");
    assert_eq!(created.client.name, name);
    let refused = manage.create(by, name, Vec::new()).await;
    assert!(matches!(refused, Err(ClientError::NoScopes)));
}

#[tokio::test]
async fn a_taken_name_and_an_unknown_client_are_named() {
    let mut repo = MockClientRepo::new();
    repo.expect_create()
        .returning(|_, _| Err(StoreError::Conflict("clients_live_name".into())));
    repo.expect_revoke()
        .returning(|_, _| Ok(Guarded::Applied(None)));
    let manage = ManageClients::new(Arc::new(repo), Arc::new(tokens()), fixed_clock());
    let operator = Operator::from_os_user("ops");
    let by = ClientManager::Operator(&operator);
    let name = ClientName::parse("billing").unwrap();
    let refused = manage.create(by, name.clone(), vec![Scope::Scim]).await;
    assert!(matches!(refused, Err(ClientError::NameTaken)));
    let refused = manage.revoke(by, &ClientRef::Name(name)).await;
    assert!(matches!(refused, Err(ClientError::NotFound)));
}

#[tokio::test]
async fn an_admin_whose_authority_lapsed_at_commit_is_refused() {
    let mut repo = MockClientRepo::new();
    repo.expect_create()
        .returning(|_, _| Ok(Guarded::ActorRevoked));
    repo.expect_revoke()
        .returning(|_, _| Ok(Guarded::ActorRevoked));
    let manage = ManageClients::new(Arc::new(repo), Arc::new(tokens()), fixed_clock());
    let operator = Operator::from_os_user("ops");
    let by = ClientManager::Operator(&operator);
    let name = ClientName::parse("backdoor").unwrap();
    let refused = manage.create(by, name.clone(), vec![Scope::Scim]).await;
    assert!(matches!(refused, Err(ClientError::ActorRevoked)));
    let refused = manage.revoke(by, &ClientRef::Name(name)).await;
    assert!(matches!(refused, Err(ClientError::ActorRevoked)));
}
