//! Machine clients over HTTP: admins create, list and revoke them; a client's token works only
//! where its scope allows, stops at once when revoked, and never opens the admin routes.

use reqwest::Method;
use serde_json::{json, Value};
use warden_domain::use_cases::ClientManager;
use warden_domain::{ClientName, Operator, Role, Scope};

use crate::support::{spawn_app, Response, TestApp};

/// A client made by an operator, and its token.
pub async fn client_token(app: &TestApp, name: &str, scopes: &[Scope]) -> String {
    let operator = Operator::from_os_user("test");
    app.services
        .clients
        .create(
            ClientManager::Operator(&operator),
            ClientName::parse(name).unwrap(),
            scopes.to_vec(),
        )
        .await
        .unwrap()
        .token
        .expose()
        .to_owned()
}

/// `POST /oauth2/introspect` as `client` about `token`.
pub async fn introspect(app: &TestApp, client: Option<&str>, token: &str) -> Response {
    let mut request = app
        .client
        .post(app.url("/oauth2/introspect"))
        .form(&[("token", token)]);
    if let Some(client) = client {
        request = request.bearer_auth(client);
    }
    Response::read(request.send().await.unwrap()).await
}

async fn post(app: &TestApp, token: Option<&str>, body: &Value) -> Response {
    app.send(Method::POST, "/api/v1/clients", token, body.to_string())
        .await
}

async fn get(app: &TestApp, token: Option<&str>) -> Response {
    app.send(Method::GET, "/api/v1/clients", token, "").await
}

async fn delete(app: &TestApp, token: Option<&str>, id: &str) -> Response {
    let path = format!("/api/v1/clients/{id}");
    app.send(Method::DELETE, &path, token, "").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_create_list_and_revoke_clients_and_revocation_is_immediate() {
    let app = spawn_app().await;
    let (_, admin) = app.admin().await;
    let (_, user_token) = app.admin().await; // a user token to introspect

    let created = post(
        &app,
        Some(&admin),
        &json!({"name": "billing", "scopes": ["introspect"]}),
    )
    .await;
    created.assert_shape(201, "Client created successfully");
    let data = &created.body["data"];
    let token = data["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("wdn_") && token.len() == 47, "{token}");
    assert_eq!(data["name"], "billing");
    assert_eq!(data["scopes"], json!(["introspect"]));
    assert_eq!(data["revoked_at"], Value::Null);
    let id = data["id"].as_str().unwrap().to_owned();

    // Listed, without the token or anything derived from it.
    let listed = get(&app, Some(&admin)).await;
    listed.assert_shape(200, "Clients retrieved successfully");
    let clients = listed.body["data"]["clients"].as_array().unwrap();
    assert_eq!(clients.len(), 1);
    let mut keys: Vec<&str> = clients[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "created_at",
            "created_by",
            "id",
            "name",
            "revoked_at",
            "scopes"
        ]
    );
    assert!(!listed.body.to_string().contains(&token[4..]));

    // The token works, then stops working the moment the client is revoked.
    let answer = introspect(&app, Some(&token), &user_token).await;
    assert_eq!(
        (answer.status.as_u16(), answer.body["active"].clone()),
        (200, json!(true))
    );
    let revoked = delete(&app, Some(&admin), &id).await;
    revoked.assert_shape(200, "Client revoked successfully");
    assert!(revoked.body["data"]["revoked_at"].is_string());
    let refused = introspect(&app, Some(&token), &user_token).await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.body, json!({"error": "invalid_client"}));
    assert_eq!(
        refused.headers["www-authenticate"],
        "Bearer realm=\"warden\""
    );

    // Revoking again, or an unknown id: 404. The name is free again.
    delete(&app, Some(&admin), &id)
        .await
        .assert_envelope(404, "Client not found");
    for unknown in [uuid::Uuid::now_v7().to_string(), "not-a-uuid".to_owned()] {
        delete(&app, Some(&admin), &unknown)
            .await
            .assert_envelope(404, "Client not found");
    }
    let listed = get(&app, Some(&admin)).await;
    assert!(listed.body["data"]["clients"][0]["revoked_at"].is_string());
    let again = post(
        &app,
        Some(&admin),
        &json!({"name": "billing", "scopes": ["scim"]}),
    )
    .await;
    again.assert_shape(201, "Client created successfully");
    assert_ne!(again.body["data"]["token"].as_str().unwrap(), token);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_routes_are_for_admins_only() {
    let app = spawn_app().await;
    let user = app.create_user(Role::User).await;
    let user_token = app.token_for(&user).await;
    let client = client_token(&app, "svc", &[Scope::Introspect, Scope::Scim]).await;
    let id = uuid::Uuid::now_v7().to_string();
    let body = json!({"name": "x", "scopes": ["scim"]});
    for token in [None, Some("garbage"), Some(client.as_str())] {
        post(&app, token, &body)
            .await
            .assert_envelope(401, "Could not validate admin credentials");
        get(&app, token)
            .await
            .assert_envelope(401, "Could not validate admin credentials");
        delete(&app, token, &id)
            .await
            .assert_envelope(401, "Could not validate admin credentials");
    }
    let forbidden = "You do not have permission to access this resource";
    post(&app, Some(&user_token), &body)
        .await
        .assert_envelope(403, forbidden);
    get(&app, Some(&user_token))
        .await
        .assert_envelope(403, forbidden);
    delete(&app, Some(&user_token), &id)
        .await
        .assert_envelope(403, forbidden);

    // One path, two methods: a third is told both.
    let wrong = app.send(Method::PUT, "/api/v1/clients", None, "").await;
    wrong.assert_envelope(405, "Method not allowed");
    assert_eq!(wrong.headers["allow"], "POST, GET");

    // A client token never opens any other admin route either.
    let outbox = app
        .send(
            Method::GET,
            "/api/v1/outbox?status=failed",
            Some(&client),
            "",
        )
        .await;
    outbox.assert_envelope(401, "Could not validate admin credentials");
    let target = json!({"user_id": user.id.to_string()});
    let refused = app
        .patch_json("/api/v1/users/deactivate", Some(&client), &target)
        .await;
    refused.assert_envelope(401, "Could not validate admin credentials");
    assert!(app.user(&user).await.is_active());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_422_by_field_and_a_taken_live_name_409() {
    let app = spawn_app().await;
    let (_, admin) = app.admin().await;
    for (body, fields) in [
        (json!({}), vec!["name", "scopes"]),
        (
            json!({"name": "has space", "scopes": ["introspect"]}),
            vec!["name"],
        ),
        (json!({"name": "ok", "scopes": []}), vec!["scopes"]),
        (json!({"name": "ok", "scopes": ["admin"]}), vec!["scopes"]),
        (
            json!({"name": "a".repeat(65), "scopes": "scim"}),
            vec!["name", "scopes"],
        ),
        (json!("text"), vec!["body"]),
    ] {
        let refused = post(&app, Some(&admin), &body).await;
        refused.assert_shape(422, "Invalid input");
        assert_eq!(refused.error_fields(), fields, "{body}");
    }
    let body = json!({"name": "dup", "scopes": ["introspect", "scim"]});
    let created = post(&app, Some(&admin), &body).await;
    assert_eq!(
        created.body["data"]["scopes"],
        json!(["introspect", "scim"])
    );
    post(&app, Some(&admin), &body)
        .await
        .assert_envelope(409, "A client with this name already exists");
    assert_eq!(
        get(&app, Some(&admin)).await.body["data"]["clients"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
