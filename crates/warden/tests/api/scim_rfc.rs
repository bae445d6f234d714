//! SCIM as RFC 7643/7644 say (issue 27): discovery resources by id, removed attributes
//! unassigned, `attributes`/`excludedAttributes`, `POST /Users/.search`. (Point 7, locations
//! from the public URL, is in `scim_origin.rs`.)

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use warden_domain::ports::{ProvisioningRepo, StoreError};
use warden_domain::{
    Authorized, ExternalId, Guarded, NewUser, Profile, ProvisionedUser, ProvisioningFilter,
    StatusChange, StatusChangeOutcome, UserId,
};

use crate::scim_support::{
    assert_scim_error, get, okta_user, patch, scim, scim_client, unique_email, LIST_SCHEMA,
    USER_SCHEMA,
};
use crate::support::{spawn_app, spawn_app_with, Response, TestApp};

const SEARCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

async fn created(app: &TestApp, token: &str, email: &str) -> String {
    let response = scim(
        app,
        Method::POST,
        "/Users",
        Some(token),
        Some(&okta_user(email)),
    )
    .await;
    assert_eq!(response.status, 201, "{:?}", response.body);
    response.body["id"].as_str().unwrap().to_owned()
}

fn keys(resource: &Value) -> Vec<String> {
    let mut keys: Vec<String> = resource.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_listed_discovery_resource_is_served_at_its_location() {
    let app = spawn_app().await;
    for list in ["/ResourceTypes", "/Schemas"] {
        let listed = scim(&app, Method::GET, list, None, None).await;
        assert_eq!(listed.status, 200);
        let resources = listed.body["Resources"].as_array().unwrap().clone();
        assert!(!resources.is_empty());
        for resource in resources {
            let location = resource["meta"]["location"].as_str().unwrap();
            let path = location.strip_prefix(&app.url("/scim/v2")).unwrap();
            let fetched = scim(&app, Method::GET, path, None, None).await;
            assert_eq!(fetched.status, 200, "{path}: {:?}", fetched.body);
            assert_eq!(fetched.body, resource, "{path}");
        }
        let unknown = scim(&app, Method::GET, &format!("{list}/Group"), None, None).await;
        assert_scim_error(&unknown, 404, None);
    }
    let user_type = scim(&app, Method::GET, "/ResourceTypes/User", None, None).await;
    assert_eq!(user_type.body["schema"], USER_SCHEMA);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_name_is_unassigned_and_active_is_required_in_the_schema() {
    let app = spawn_app().await;
    let token = scim_client(&app, "okta").await;
    let id = created(&app, &token, &unique_email("rm")).await;
    let given = patch(
        &app,
        &token,
        &id,
        json!([{"op": "remove", "path": "name.givenName"}]),
    )
    .await;
    assert_eq!(given.status, 200, "{:?}", given.body);
    assert_eq!(given.body["name"], json!({"familyName": "Lovelace"}));
    let name = patch(&app, &token, &id, json!([{"op": "remove", "path": "name"}])).await;
    assert_eq!(name.status, 200, "{:?}", name.body);
    assert!(name.body.get("name").is_none(), "{}", name.body);
    let fetched = get(&app, &format!("/Users/{id}"), &token).await;
    assert!(fetched.body.get("name").is_none(), "{}", fetched.body);

    // Removing `active` is refused, and the schema says why: it is required.
    let active = patch(
        &app,
        &token,
        &id,
        json!([{"op": "remove", "path": "active"}]),
    )
    .await;
    assert_scim_error(&active, 400, Some("mutability"));
    let schema = scim(
        &app,
        Method::GET,
        &format!("/Schemas/{USER_SCHEMA}"),
        None,
        None,
    )
    .await;
    let attributes = schema.body["attributes"].as_array().unwrap();
    let active = attributes.iter().find(|a| a["name"] == "active").unwrap();
    assert_eq!(active["required"], true, "{active}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attributes_and_excluded_attributes_shape_get_and_list() {
    let app = spawn_app().await;
    let token = scim_client(&app, "okta").await;
    let email = unique_email("attrs");
    let id = created(&app, &token, &email).await;

    let only = get(
        &app,
        &format!("/Users/{id}?attributes=userName,name.givenName"),
        &token,
    )
    .await;
    assert_eq!(only.status, 200, "{:?}", only.body);
    assert_eq!(keys(&only.body), ["id", "name", "schemas", "userName"]);
    assert_eq!(only.body["name"], json!({"givenName": "Ada"}));
    assert_eq!(only.body["userName"], email.as_str());

    let except = get(
        &app,
        &format!("/Users/{id}?excludedAttributes=emails,meta,id"),
        &token,
    )
    .await;
    assert!(except.body.get("emails").is_none(), "{}", except.body);
    assert!(except.body.get("meta").is_none(), "{}", except.body);
    assert_eq!(except.body["id"], id.as_str());
    assert_eq!(except.body["active"], true);

    let filter = format!("userName eq \"{email}\"");
    let listed = get(
        &app,
        &format!(
            "/Users?attributes=emails.value&filter={}",
            url::form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>()
        ),
        &token,
    )
    .await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    assert_eq!(listed.body["totalResults"], 1);
    let resource = &listed.body["Resources"][0];
    assert_eq!(keys(resource), ["emails", "id", "schemas"]);
    assert_eq!(resource["emails"], json!([{"value": email}]));

    let bad = get(&app, &format!("/Users/{id}?attributes=a.b.c"), &token).await;
    assert_scim_error(&bad, 400, Some("invalidValue"));
}

async fn search(app: &TestApp, token: &str, body: &Value) -> Response {
    scim(app, Method::POST, "/Users/.search", Some(token), Some(body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_search_filters_pages_and_projects_like_get() {
    let app = spawn_app().await;
    let token = scim_client(&app, "okta").await;
    let email = unique_email("search");
    let id = created(&app, &token, &email).await;
    let other = created(&app, &token, &unique_email("search")).await;

    let found = search(
        &app,
        &token,
        &json!({
            "schemas": [SEARCH_SCHEMA],
            "filter": format!("userName eq \"{}\"", email.to_uppercase()),
            "startIndex": 1,
            "count": 10,
            "attributes": ["userName"],
        }),
    )
    .await;
    assert_eq!(found.status, 200, "{:?}", found.body);
    assert_eq!(found.body["schemas"], json!([LIST_SCHEMA]));
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(
        found.body["Resources"][0],
        json!({"schemas": [USER_SCHEMA], "id": id, "userName": email})
    );

    // Pages as GET does: every account, one a page, in a stable order.
    let first = search(&app, &token, &json!({"count": 1})).await;
    let total = first.body["totalResults"].as_u64().unwrap();
    assert!(total >= 2, "{:?}", first.body);
    assert_eq!(first.body["itemsPerPage"], 1);
    let mut seen = Vec::new();
    for index in 1..=total {
        let page = search(&app, &token, &json!({"startIndex": index, "count": 1})).await;
        assert_eq!(page.body["startIndex"], index);
        seen.push(page.body["Resources"][0]["id"].as_str().unwrap().to_owned());
    }
    assert!(seen.contains(&id) && seen.contains(&other), "{seen:?}");

    let bad = search(&app, &token, &json!({"filter": "title eq \"x\""})).await;
    assert_scim_error(&bad, 400, Some("invalidFilter"));
    let bad = search(&app, &token, &json!({"schemas": ["other"]})).await;
    assert_scim_error(&bad, 400, Some("invalidSyntax"));
    let anonymous = scim(&app, Method::POST, "/Users/.search", None, Some(&json!({}))).await;
    assert_scim_error(&anonymous, 401, None);
}

/// `If-Match` with `tag` on a request.
async fn with_if_match(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    tag: &str,
    body: Option<&Value>,
) -> Response {
    let mut request = app
        .client
        .request(method, app.url(&format!("/scim/v2{path}")))
        .bearer_auth(token)
        .header("if-match", tag);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/scim+json")
            .body(body.to_string());
    }
    let response = request.send().await.unwrap();
    if response.status() == 204 {
        return Response {
            status: response.status(),
            headers: response.headers().clone(),
            body: Value::Null,
        };
    }
    Response::read(response).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etags_change_with_the_user_and_if_match_guards_put_patch_and_delete() {
    let app = spawn_app().await;
    let token = scim_client(&app, "okta").await;
    let email = unique_email("etag");
    let id = created(&app, &token, &email).await;
    let path = format!("/Users/{id}");
    let config = scim(&app, Method::GET, "/ServiceProviderConfig", None, None).await;
    assert_eq!(config.body["etag"]["supported"], true);

    let first = get(&app, &path, &token).await;
    let v1 = first.body["meta"]["version"].as_str().unwrap().to_owned();
    assert!(v1.starts_with("W/\""), "{v1}");
    assert_eq!(first.headers["etag"], v1.as_str());

    // A change moves the version on; the old one no longer matches anything.
    let renamed = with_if_match(
        &app,
        Method::PATCH,
        &path,
        &token,
        &v1,
        Some(&crate::scim_support::patch_op(
            json!([{"op": "replace", "path": "name.givenName", "value": "Augusta"}]),
        )),
    )
    .await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.body);
    let v2 = renamed.headers["etag"].to_str().unwrap().to_owned();
    assert_ne!(v2, v1);
    assert_eq!(renamed.body["meta"]["version"], v2.as_str());

    let stale_patch = with_if_match(
        &app,
        Method::PATCH,
        &path,
        &token,
        &v1,
        Some(&crate::scim_support::patch_op(
            json!([{"op": "replace", "path": "active", "value": false}]),
        )),
    )
    .await;
    assert_scim_error(&stale_patch, 412, None);
    let mut put_body = okta_user(&email);
    put_body["name"]["givenName"] = json!("Stale");
    let stale_put = with_if_match(&app, Method::PUT, &path, &token, &v1, Some(&put_body)).await;
    assert_scim_error(&stale_put, 412, None);
    let stale_delete = with_if_match(&app, Method::DELETE, &path, &token, &v1, None).await;
    assert_scim_error(&stale_delete, 412, None);
    let unchanged = get(&app, &path, &token).await;
    assert_eq!(unchanged.body["active"], true, "nothing applied");
    assert_eq!(unchanged.body["name"]["givenName"], "Augusta");
    assert_eq!(unchanged.headers["etag"], v2.as_str());

    // The current version (alone, among others, or `*`) lets the change through.
    put_body["name"]["givenName"] = json!("Ada");
    let put = with_if_match(
        &app,
        Method::PUT,
        &path,
        &token,
        &format!("W/\"other\", {v2}"),
        Some(&put_body),
    )
    .await;
    assert_eq!(put.status, 200, "{:?}", put.body);
    assert_eq!(put.body["name"]["givenName"], "Ada");
    let v3 = put.headers["etag"].to_str().unwrap().to_owned();
    assert_ne!(v3, v2);
    // A status change moves it on too.
    let off = patch(
        &app,
        &token,
        &id,
        json!([{"op": "replace", "path": "active", "value": false}]),
    )
    .await;
    let v4 = off.headers["etag"].to_str().unwrap().to_owned();
    assert_ne!(v4, v3);
    let stale_delete = with_if_match(&app, Method::DELETE, &path, &token, &v3, None).await;
    assert_scim_error(&stale_delete, 412, None);
    let deleted = with_if_match(&app, Method::DELETE, &path, &token, "*", None).await;
    assert_eq!(deleted.status, 204, "{:?}", deleted.body);
    assert_scim_error(&get(&app, &path, &token).await, 404, None);

    let bad = with_if_match(&app, Method::DELETE, &path, &token, "no-quotes", None).await;
    assert_scim_error(&bad, 400, Some("invalidValue"));
}

/// The real provisioning store, with another writer's change landing just before every
/// conditional write (after the request has checked `If-Match` itself).
struct Raced {
    inner: Arc<dyn ProvisioningRepo>,
}

#[async_trait]
impl ProvisioningRepo for Raced {
    async fn create(
        &self,
        user: NewUser,
        external_id: Option<ExternalId>,
        by: &Authorized,
    ) -> Result<Guarded<ProvisionedUser>, StoreError> {
        self.inner.create(user, external_id, by).await
    }

    async fn find(&self, id: &UserId) -> Result<Option<ProvisionedUser>, StoreError> {
        self.inner.find(id).await
    }

    async fn list(
        &self,
        filter: &ProvisioningFilter,
        offset: u64,
        limit: u32,
    ) -> Result<(u64, Vec<ProvisionedUser>), StoreError> {
        self.inner.list(filter, offset, limit).await
    }

    async fn update(
        &self,
        id: &UserId,
        profile: Profile,
        by: &Authorized,
    ) -> Result<Guarded<Option<ProvisionedUser>>, StoreError> {
        self.inner.update(id, profile, by).await
    }

    async fn update_with_status(
        &self,
        profile: Profile,
        by: &Authorized,
        change: StatusChange,
        expected_version: Option<String>,
    ) -> Result<Option<(StatusChangeOutcome, Option<ProvisionedUser>)>, StoreError> {
        if expected_version.is_some() {
            if let Some(current) = self.inner.find(&change.target).await? {
                let raced = Profile {
                    last_name: "Raced".into(),
                    ..Profile::of(&current)
                };
                // Another write of the same client: an authority (and audit record) of its own.
                let other = Authorized::new(by.actor.clone(), by.at);
                let done = self.inner.update(&change.target, raced, &other).await?;
                assert!(matches!(done, Guarded::Applied(Some(_))), "{done:?}");
            }
        }
        self.inner
            .update_with_status(profile, by, change, expected_version)
            .await
    }

    async fn remove(&self, id: &UserId, at: DateTime<Utc>) -> Result<bool, StoreError> {
        self.inner.remove(id, at).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_landing_between_the_if_match_check_and_the_write_makes_it_a_412() {
    let app = spawn_app_with(|mut ports| {
        ports.provisioning = Arc::new(Raced {
            inner: ports.provisioning,
        });
        ports
    })
    .await;
    let token = scim_client(&app, "okta").await;
    let id = created(&app, &token, &unique_email("raced")).await;
    let path = format!("/Users/{id}");
    let version = get(&app, &path, &token).await.headers["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let late = with_if_match(
        &app,
        Method::PATCH,
        &path,
        &token,
        &version,
        Some(&crate::scim_support::patch_op(json!([
            {"op": "replace", "path": "name.givenName", "value": "Late"},
            {"op": "replace", "path": "active", "value": false}
        ]))),
    )
    .await;
    assert_scim_error(&late, 412, None);
    let now = get(&app, &path, &token).await;
    assert_eq!(
        now.body["name"]["familyName"], "Raced",
        "the other change stays"
    );
    assert_eq!(
        now.body["name"]["givenName"], "Ada",
        "the late one wrote nothing"
    );
    assert_eq!(now.body["active"], true);
    assert_ne!(now.headers["etag"], version.as_str());
    let late_delete = with_if_match(&app, Method::DELETE, &path, &token, &version, None).await;
    assert_scim_error(&late_delete, 412, None);
    // Without If-Match the same write is not conditional and applies (after the other one).
    let plain = patch(
        &app,
        &token,
        &id,
        json!([{"op": "replace", "path": "active", "value": false}]),
    )
    .await;
    assert_eq!(plain.status, 200, "{:?}", plain.body);
    assert_eq!(plain.body["active"], false);
}
