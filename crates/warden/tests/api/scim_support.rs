//! Helpers of the SCIM tests: requests with a client token, and the SCIM shapes.

use reqwest::Method;
use serde_json::{json, Value};
use warden_domain::Scope;

use crate::clients::client_token;
use crate::support::{Response, TestApp};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A client with the `scim` scope, named `name`, and its token.
pub async fn scim_client(app: &TestApp, name: &str) -> String {
    client_token(app, name, &[Scope::Scim]).await
}

/// A client with the `scim` and `scim.privileged` scopes (it may provision administrators
/// too), named `name`, and its token.
pub async fn privileged_scim_client(app: &TestApp, name: &str) -> String {
    client_token(app, name, &[Scope::Scim, Scope::ScimPrivileged]).await
}

/// A SCIM request as an identity provider sends it (`application/scim+json`).
pub async fn scim(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Response {
    let mut request = app
        .client
        .request(method, app.url(&format!("/scim/v2{path}")))
        .header("accept", "application/scim+json");
    if let Some(body) = body {
        request = request
            .header("content-type", "application/scim+json; charset=utf-8")
            .body(body.to_string());
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    if response.status() == 204 {
        let headers = response.headers().clone();
        assert!(response.text().await.unwrap().is_empty());
        return Response {
            status: reqwest::StatusCode::NO_CONTENT,
            headers,
            body: Value::Null,
        };
    }
    let response = Response::read(response).await;
    assert_eq!(
        response.headers["content-type"],
        "application/scim+json",
        "{method_path}: {body:?}",
        method_path = path,
        body = response.body
    );
    response
}

pub async fn get(app: &TestApp, path: &str, token: &str) -> Response {
    scim(app, Method::GET, path, Some(token), None).await
}

/// Okta's SCIM test body for a new user.
pub fn okta_user(email: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": email,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"primary": true, "value": email, "type": "work"}],
        "displayName": "Ada Lovelace",
        "locale": "en-US",
        "externalId": format!("00u{}", uuid::Uuid::now_v7().simple()),
        "groups": [],
        "active": true
    })
}

pub fn unique_email(stem: &str) -> String {
    format!("{stem}-{}@example.com", uuid::Uuid::now_v7().simple())
}

/// Asserts a SCIM Error: `status` as a string, a `detail`, and `scim_type` when given.
pub fn assert_scim_error(response: &Response, status: u16, scim_type: Option<&str>) {
    assert_eq!(response.status.as_u16(), status, "{:?}", response.body);
    let body = &response.body;
    assert_eq!(body["schemas"], json!([ERROR_SCHEMA]), "{body}");
    assert_eq!(body["status"], status.to_string(), "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    match scim_type {
        Some(kind) => assert_eq!(body["scimType"], kind, "{body}"),
        None => assert!(body.get("scimType").is_none(), "{body}"),
    }
    assert!(
        body.get("status_code").is_none(),
        "not the envelope: {body}"
    );
}

/// A PatchOp of `operations`.
pub fn patch_op(operations: Value) -> Value {
    json!({"schemas": [PATCH_SCHEMA], "Operations": operations})
}

/// `PATCH /Users/{id}` with `operations`.
pub async fn patch(app: &TestApp, token: &str, id: &str, operations: Value) -> Response {
    let body = patch_op(operations);
    scim(
        app,
        Method::PATCH,
        &format!("/Users/{id}"),
        Some(token),
        Some(&body),
    )
    .await
}

/// The account's audit events, newest first, as an admin reads them.
pub async fn events(app: &TestApp, admin_token: &str, id: &str) -> Vec<Value> {
    let response = app
        .send(
            Method::GET,
            &format!("/api/v1/users/{id}/events"),
            Some(admin_token),
            "",
        )
        .await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    response.body["data"]["events"].as_array().unwrap().clone()
}
