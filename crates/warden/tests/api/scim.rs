//! SCIM 2.0 under `/scim/v2`: what Okta's published SCIM 2.0 spec test checks, the filters,
//! paging and discovery, and SCIM Errors (never the envelope) for every failure.

use reqwest::Method;
use serde_json::{json, Value};
use warden_domain::use_cases::ClientManager;
use warden_domain::{ClientName, ClientRef, Operator, Role, Scope};

use crate::clients::client_token;
use crate::scim_support::{
    assert_scim_error, get, okta_user, scim, scim_client, unique_email, LIST_SCHEMA, USER_SCHEMA,
};
use crate::support::{spawn_app, TestApp, PASSWORD};

fn query(filter: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(filter.as_bytes()).collect();
    format!("/Users?filter={encoded}")
}

async fn create(app: &TestApp, token: &str, body: &Value) -> crate::support::Response {
    scim(app, Method::POST, "/Users", Some(token), Some(body)).await
}

/// The checks of Okta's "SCIM 2.0 Spec Test" (Runscope), in its order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_spec_test_passes() {
    let app = spawn_app().await;
    let token = scim_client(&app, "okta").await;
    let email = unique_email("ada");
    // Create: 201, the names echoed, a Location.
    let body = okta_user(&email);
    let created = create(&app, &token, &body).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let user = &created.body;
    let id = user["id"].as_str().unwrap().to_owned();
    assert_eq!(user["schemas"], json!([USER_SCHEMA]));
    assert_eq!(user["userName"], email);
    assert_eq!(
        user["name"],
        json!({"givenName": "Ada", "familyName": "Lovelace"})
    );
    assert_eq!(user["displayName"], "Ada Lovelace");
    assert_eq!(
        user["emails"],
        json!([{"value": email, "primary": true, "type": "work"}])
    );
    assert_eq!(user["externalId"], body["externalId"]);
    assert_eq!(user["active"], true);
    assert_eq!(user["meta"]["resourceType"], "User");
    let location = user["meta"]["location"].as_str().unwrap();
    assert_eq!(location, app.url(&format!("/scim/v2/Users/{id}")));
    assert_eq!(created.headers["location"], location);
    assert!(user["meta"]["version"]
        .as_str()
        .unwrap()
        .starts_with("W/\""));
    assert!(user["meta"]["created"].is_string() && user["meta"]["lastModified"].is_string());
    assert_eq!(created.headers["cache-control"], "no-store");

    // List with count=1&startIndex=1.
    let list = get(&app, "/Users?count=1&startIndex=1", &token).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["schemas"], json!([LIST_SCHEMA]));
    assert_eq!(list.body["totalResults"], 1);
    assert_eq!(list.body["startIndex"], 1);
    assert_eq!(list.body["itemsPerPage"], 1);
    assert_eq!(list.body["Resources"][0], created.body);

    // Get by id.
    let found = get(&app, &format!("/Users/{id}"), &token).await;
    assert_eq!(found.status, 200);
    assert_eq!(found.body, created.body);

    // An unknown userName: no results.
    let unknown = get(
        &app,
        &query(&format!("userName eq \"{}\"", unique_email("nobody"))),
        &token,
    )
    .await;
    assert_eq!(unknown.status, 200);
    assert_eq!(unknown.body["totalResults"], 0);
    assert_eq!(unknown.body["Resources"], json!([]));

    // An unknown id: a SCIM 404 with a detail (ids that are not UUIDs too).
    for missing in [uuid::Uuid::now_v7().to_string(), "not-a-uuid".to_owned()] {
        let response = get(&app, &format!("/Users/{missing}"), &token).await;
        assert_scim_error(&response, 404, None);
        assert!(response.body["detail"].as_str().unwrap().contains(&missing));
    }

    // The same userName again, in capitals: 409 uniqueness.
    let again = create(&app, &token, &okta_user(&email.to_uppercase())).await;
    assert_scim_error(&again, 409, Some("uniqueness"));

    // A filter on the userName in capitals finds it.
    let upper = get(
        &app,
        &query(&format!("userName eq \"{}\"", email.to_uppercase())),
        &token,
    )
    .await;
    assert_eq!(upper.status, 200);
    assert_eq!(upper.body["totalResults"], 1);
    assert_eq!(upper.body["Resources"][0]["id"], id.as_str());

    // Groups: none, but a 200.
    let groups = get(&app, "/Groups", &token).await;
    assert_eq!(groups.status, 200);
    assert_eq!(groups.body["schemas"], json!([LIST_SCHEMA]));
    assert_eq!(groups.body["totalResults"], 0);

    // A bad token: 401 with status "401".
    for bad in [Some("wdn_not-a-real-token"), None] {
        let refused = scim(&app, Method::GET, "/Users", bad, None).await;
        assert_scim_error(&refused, 401, None);
        assert_eq!(
            refused.headers["www-authenticate"],
            "Bearer realm=\"warden\""
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_clients_with_the_scim_scope_are_admitted() {
    let app = spawn_app().await;
    let introspector = client_token(&app, "gateway", &[Scope::Introspect]).await;
    let forbidden = scim(&app, Method::GET, "/Users", Some(&introspector), None).await;
    assert_scim_error(&forbidden, 403, None);
    // An admin's access token is no client token.
    let (_, admin) = app.admin().await;
    let refused = scim(&app, Method::GET, "/Users", Some(&admin), None).await;
    assert_scim_error(&refused, 401, None);
    // Nothing was created by the refused requests.
    let token = scim_client(&app, "okta").await;
    let body = okta_user(&unique_email("x"));
    let refused = scim(
        &app,
        Method::POST,
        "/Users",
        Some(&introspector),
        Some(&body),
    )
    .await;
    assert_scim_error(&refused, 403, None);
    let all = get(&app, "/Users", &token).await;
    assert_eq!(
        all.body["totalResults"], 1,
        "only the admin: {:?}",
        all.body
    );

    // A revoked client is refused from the next request on.
    let operator = Operator::from_os_user("test");
    let name = ClientName::parse("okta").unwrap();
    app.services
        .clients
        .revoke(ClientManager::Operator(&operator), &ClientRef::Name(name))
        .await
        .unwrap();
    assert_scim_error(&get(&app, "/Users", &token).await, 401, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_and_pages_list_every_account_in_a_stable_order() {
    let app = spawn_app().await;
    let token = scim_client(&app, "okta").await;
    let existing = app.create_user(Role::User).await;
    let mut ids = vec![existing.id.to_string()];
    let mut bodies = Vec::new();
    for stem in ["b", "c", "d"] {
        let body = okta_user(&unique_email(stem));
        let created = create(&app, &token, &body).await;
        ids.push(created.body["id"].as_str().unwrap().to_owned());
        bodies.push(body);
    }
    // Inactive accounts are listed, with active: false.
    let (_, admin) = app.admin().await;
    app.deactivate(&admin, &existing, None).await;
    let all = get(&app, "/Users", &token).await;
    assert_eq!(all.body["totalResults"], 5);
    let listed: Vec<&str> = all.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted, "by id");
    let inactive = &all.body["Resources"][0];
    assert_eq!(inactive["id"], existing.id.to_string());
    assert_eq!(inactive["active"], false);
    assert!(inactive.get("externalId").is_none());

    // Pages of two, stable; count=0 gives only the total; past the end, none.
    let page = |start: u32| format!("/Users?startIndex={start}&count=2");
    let mut paged = Vec::new();
    for start in [1, 3, 5] {
        let response = get(&app, &page(start), &token).await;
        assert_eq!(response.body["startIndex"], start);
        assert_eq!(response.body["totalResults"], 5);
        paged.extend(response.body["Resources"].as_array().unwrap().clone());
    }
    assert_eq!(Value::Array(paged), all.body["Resources"]);
    let only_total = get(&app, "/Users?count=0", &token).await;
    assert_eq!(only_total.body["totalResults"], 5);
    assert_eq!(only_total.body["itemsPerPage"], 0);
    assert_eq!(only_total.body["Resources"], json!([]));
    let past = get(&app, "/Users?startIndex=99&count=-3", &token).await;
    assert_eq!(
        (
            past.body["totalResults"].clone(),
            past.body["itemsPerPage"].clone()
        ),
        (json!(5), json!(0))
    );
    let low = get(&app, "/Users?startIndex=0&count=1", &token).await;
    assert_eq!(low.body["startIndex"], 1);
    assert_eq!(low.body["Resources"][0]["id"], ids[0].as_str());

    // externalId, emails.value, and both joined by `and`, in any case.
    let external = bodies[1]["externalId"].as_str().unwrap();
    let email = bodies[1]["userName"].as_str().unwrap();
    for filter in [
        format!("externalId eq \"{external}\""),
        format!("emails.value eq \"{email}\""),
        format!("USERNAME EQ \"{email}\" AND externalid eq \"{external}\""),
    ] {
        let found = get(&app, &query(&filter), &token).await;
        assert_eq!(found.body["totalResults"], 1, "{filter}");
        assert_eq!(found.body["Resources"][0]["userName"], email, "{filter}");
    }
    let other = bodies[2]["externalId"].as_str().unwrap();
    let none = get(
        &app,
        &query(&format!(
            "userName eq \"{email}\" and externalId eq \"{other}\""
        )),
        &token,
    )
    .await;
    assert_eq!(none.body["totalResults"], 0);

    // Anything else: invalidFilter; bad numbers: invalidValue.
    for filter in [
        format!("userName sw \"{email}\""),
        format!("userName eq \"{email}\" or userName eq \"x@example.com\""),
        "title eq \"boss\"".to_owned(),
        "userName eq".to_owned(),
    ] {
        assert_scim_error(
            &get(&app, &query(&filter), &token).await,
            400,
            Some("invalidFilter"),
        );
    }
    assert_scim_error(
        &get(&app, "/Users?count=many", &token).await,
        400,
        Some("invalidValue"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_and_every_failure_answer_in_scim() {
    let app = spawn_app().await;
    let token = scim_client(&app, "entra").await;
    // Discovery is open.
    let config = scim(&app, Method::GET, "/ServiceProviderConfig", None, None).await;
    assert_eq!(config.status, 200);
    let config = &config.body;
    assert_eq!(config["patch"]["supported"], true);
    assert_eq!(
        config["filter"],
        json!({"supported": true, "maxResults": 200})
    );
    assert_eq!(config["bulk"]["supported"], false);
    assert_eq!(config["etag"]["supported"], true);
    assert_eq!(
        config["authenticationSchemes"][0]["type"],
        "oauthbearertoken"
    );
    let types = scim(&app, Method::GET, "/ResourceTypes", None, None).await;
    assert_eq!(types.body["Resources"][0]["endpoint"], "/Users");
    assert_eq!(types.body["totalResults"], 1);
    let schemas = scim(&app, Method::GET, "/Schemas", None, None).await;
    assert_eq!(schemas.body["Resources"][0]["id"], USER_SCHEMA);

    // No route, no method, bad JSON, a body that is no User: SCIM Errors, not the envelope.
    assert_scim_error(
        &scim(&app, Method::GET, "/Nope", Some(&token), None).await,
        404,
        None,
    );
    let no_method = scim(
        &app,
        Method::POST,
        "/Groups",
        Some(&token),
        Some(&json!({})),
    )
    .await;
    assert_scim_error(&no_method, 405, None);
    assert_eq!(no_method.headers["allow"], "GET");
    let raw = app
        .client
        .post(app.url("/scim/v2/Users"))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let raw = crate::support::Response::read(raw).await;
    assert_scim_error(&raw, 400, Some("invalidSyntax"));
    let no_name = json!({"schemas": [USER_SCHEMA], "name": {"givenName": "A"}});
    assert_scim_error(
        &create(&app, &token, &no_name).await,
        400,
        Some("invalidValue"),
    );
    let not_email = okta_user("not an email");
    assert_scim_error(
        &create(&app, &token, &not_email).await,
        400,
        Some("invalidValue"),
    );
    let too_big = json!({"userName": unique_email("big"), "pad": "x".repeat(20_000)});
    assert_scim_error(&create(&app, &token, &too_big).await, 413, None);
}

/// An account a SCIM client created has no password: signing in fails exactly like a wrong
/// password, and the access explanation says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioned_accounts_have_no_password() {
    let app = spawn_app().await;
    let token = scim_client(&app, "okta").await;
    let email = unique_email("nopass");
    let created = create(&app, &token, &okta_user(&email)).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let login = |email: String, password: &'static str| {
        let app = &app;
        async move {
            app.send(
                Method::POST,
                "/api/v1/auth/login",
                None,
                json!({"email": email, "password": password}).to_string(),
            )
            .await
        }
    };
    let provisioned = login(email.clone(), PASSWORD).await;
    let other = app.create_user(Role::User).await;
    let wrong = login(other.email.to_string(), "a wrong password").await;
    provisioned.assert_envelope(401, "Invalid email or password");
    wrong.assert_envelope(401, "Invalid email or password");

    let (_, admin) = app.admin().await;
    let access = app
        .send(
            Method::GET,
            &format!("/api/v1/users/{id}/access"),
            Some(&admin),
            "",
        )
        .await;
    assert_eq!(access.status, 200);
    let data = &access.body["data"];
    assert_eq!(data["can_sign_in"], false);
    let reason = &data["reasons"][0];
    assert_eq!(reason["code"], "no_password");
    assert!(reason["message"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .contains("no password (provisioned)"));
    // An account with a password has no such reason.
    let fine = app
        .send(
            Method::GET,
            &format!("/api/v1/users/{}/access", other.id),
            Some(&admin),
            "",
        )
        .await;
    assert_eq!(fine.body["data"]["reasons"], json!([]));
}
