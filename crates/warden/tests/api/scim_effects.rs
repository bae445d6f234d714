//! What SCIM changes do: `active: false` by PATCH (Entra ID's and Okta's forms), PUT or DELETE
//! is the deactivation use case with the client as the actor (the user's tokens revoked at
//! once, one audit event, one email); a repeat changes nothing; the last active admin stays.

use reqwest::Method;
use serde_json::json;
use warden_domain::Role;

use crate::scim_support::{
    assert_scim_error, events, get, okta_user, patch, privileged_scim_client, scim, scim_client,
    unique_email,
};
use crate::support::{spawn_app, TestApp};

async fn me(app: &TestApp, token: &str) -> u16 {
    app.send(Method::GET, "/api/v1/users/me", Some(token), "")
        .await
        .status
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_deactivates_once_with_every_effect_and_reactivates() {
    let app = spawn_app().await;
    let client = scim_client(&app, "entra-id").await;
    let (_, admin) = app.admin().await;
    let user = app.create_user(Role::User).await;
    let user_token = app.token_for(&user).await;
    assert_eq!(me(&app, &user_token).await, 200);
    let id = user.id.to_string();

    let off = json!([{"op": "Replace", "path": "active", "value": "False"}]);
    let done = patch(&app, &client, &id, off.clone()).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert_eq!(done.body["active"], false);
    assert_eq!(done.body["id"], id.as_str());
    // The user's token stops working at once.
    assert_eq!(me(&app, &user_token).await, 401);
    // One email, to the user.
    let mails = app.emails(1).await;
    assert!(mails[0]
        .to
        .iter()
        .any(|to| to.contains(user.email.as_str())));
    // One audit event, by the client.
    let history = events(&app, &admin, &id).await;
    assert_eq!(history.len(), 1, "{history:?}");
    let event = &history[0];
    assert_eq!(event["action"], "deactivated");
    assert_eq!(event["actor"]["kind"], "client");
    assert_eq!(event["actor"]["name"], "entra-id");
    assert_eq!(event["reason"], "Deprovisioned via SCIM by entra-id");

    // Entra retries: a 200, and nothing more happens.
    for retry in [
        off,
        json!([{"op": "replace", "path": "active", "value": false}]),
    ] {
        let again = patch(&app, &client, &id, retry).await;
        assert_eq!(again.status, 200);
        assert_eq!(again.body["active"], false);
    }
    app.emails(1).await;
    assert_eq!(events(&app, &admin, &id).await.len(), 1);

    // "True" reactivates; the old token stays revoked.
    let on = json!([{"op": "Replace", "path": "active", "value": "True"}]);
    let back = patch(&app, &client, &id, on).await;
    assert_eq!(back.body["active"], true);
    assert_eq!(me(&app, &user_token).await, 401);
    app.emails(2).await;
    let history = events(&app, &admin, &id).await;
    assert_eq!(history[0]["action"], "reactivated");
    assert_eq!(history[0]["actor"]["kind"], "client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_deactivates_and_renames_then_deletes() {
    let app = spawn_app().await;
    let client = scim_client(&app, "okta").await;
    let (_, admin) = app.admin().await;
    let created = scim(
        &app,
        Method::POST,
        "/Users",
        Some(&client),
        Some(&okta_user(&unique_email("ada"))),
    )
    .await;
    let id = created.body["id"].as_str().unwrap().to_owned();

    // Okta's form: no path, an object of attributes.
    let off = json!([{"op": "replace", "value": {"id": id, "active": false}}]);
    // `id` is no attribute Warden lets a client write.
    assert_scim_error(
        &patch(&app, &client, &id, off).await,
        400,
        Some("invalidPath"),
    );
    let off = json!([{"op": "replace", "value": {"active": false}}]);
    let done = patch(&app, &client, &id, off).await;
    assert_eq!(done.body["active"], false);
    app.emails(1).await;
    assert_eq!(events(&app, &admin, &id).await[0]["actor"]["name"], "okta");

    // Names, userName and externalId.
    let renamed_email = unique_email("augusta");
    let ops = json!([
        {"op": "replace", "path": "name.givenName", "value": "Augusta"},
        {"op": "replace", "path": "userName", "value": renamed_email},
        {"op": "add", "path": "externalId", "value": "okta-42"},
    ]);
    let renamed = patch(&app, &client, &id, ops).await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.body);
    assert_eq!(renamed.body["name"]["givenName"], "Augusta");
    assert_eq!(renamed.body["userName"], renamed_email);
    assert_eq!(renamed.body["externalId"], "okta-42");
    assert_eq!(renamed.body["active"], false);
    assert_ne!(
        renamed.body["meta"]["version"],
        done.body["meta"]["version"]
    );
    // Taking another account's userName: 409 uniqueness.
    let other = app.create_user(Role::User).await;
    let clash = json!([{"op": "replace", "path": "userName", "value": other.email.as_str().to_uppercase()}]);
    assert_scim_error(
        &patch(&app, &client, &id, clash).await,
        409,
        Some("uniqueness"),
    );

    // DELETE: 204, then 404 everywhere in SCIM; Warden keeps the account and its history.
    let deleted = scim(
        &app,
        Method::DELETE,
        &format!("/Users/{id}"),
        Some(&client),
        None,
    )
    .await;
    assert_eq!(deleted.status, 204);
    assert_scim_error(
        &get(&app, &format!("/Users/{id}"), &client).await,
        404,
        None,
    );
    let again = scim(
        &app,
        Method::DELETE,
        &format!("/Users/{id}"),
        Some(&client),
        None,
    )
    .await;
    assert_scim_error(&again, 404, None);
    let listed = get(
        &app,
        "/Users?filter=externalId%20eq%20%22okta-42%22",
        &client,
    )
    .await;
    assert_eq!(listed.body["totalResults"], 0);
    let kept = app
        .send(
            Method::GET,
            &format!("/api/v1/users/{id}"),
            Some(&admin),
            "",
        )
        .await;
    assert_eq!(kept.status, 200);
    // It was inactive already: no second deactivation, no second email.
    assert_eq!(events(&app, &admin, &id).await.len(), 1);
    app.emails(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_and_put_deactivate_an_active_account() {
    let app = spawn_app().await;
    let client = scim_client(&app, "okta").await;
    let (_, admin) = app.admin().await;
    let user = app.create_user(Role::User).await;
    let token = app.token_for(&user).await;
    let deleted = scim(
        &app,
        Method::DELETE,
        &format!("/Users/{}", user.id),
        Some(&client),
        None,
    )
    .await;
    assert_eq!(deleted.status, 204);
    assert_eq!(me(&app, &token).await, 401);
    app.emails(1).await;
    let history = events(&app, &admin, &user.id.to_string()).await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["actor"]["kind"], "client");

    // PUT replaces the attributes and applies `active`.
    let put_user = app.create_user(Role::User).await;
    let mut body = okta_user(put_user.email.as_str());
    body["name"] = json!({"givenName": "Grace", "familyName": "Brewster"});
    body["active"] = json!(false);
    let path = format!("/Users/{}", put_user.id);
    let replaced = scim(&app, Method::PUT, &path, Some(&client), Some(&body)).await;
    assert_eq!(replaced.status, 200, "{:?}", replaced.body);
    assert_eq!(replaced.body["name"]["familyName"], "Brewster");
    assert_eq!(replaced.body["active"], false);
    assert_eq!(replaced.body["externalId"], body["externalId"]);
    app.emails(2).await;
    // The same PUT again changes nothing.
    let again = scim(&app, Method::PUT, &path, Some(&client), Some(&body)).await;
    assert_eq!(again.body, replaced.body);
    app.emails(2).await;
    let missing = format!("/Users/{}", uuid::Uuid::now_v7());
    assert_scim_error(
        &scim(&app, Method::PUT, &missing, Some(&client), Some(&body)).await,
        404,
        None,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_active_admin_is_refused_as_a_scim_error() {
    let app = spawn_app().await;
    let client = privileged_scim_client(&app, "okta").await;
    let (admin, token) = app.admin().await;
    let id = admin.id.to_string();
    let off = json!([{"op": "replace", "value": {"active": false}}]);
    let refused = patch(&app, &client, &id, off).await;
    assert_scim_error(&refused, 400, Some("mutability"));
    assert_eq!(
        refused.body["detail"],
        "Cannot deactivate the last active admin"
    );
    let refused = scim(
        &app,
        Method::DELETE,
        &format!("/Users/{id}"),
        Some(&client),
        None,
    )
    .await;
    assert_scim_error(&refused, 400, Some("mutability"));
    // Nothing changed: still active, still found, still signed in.
    assert_eq!(
        get(&app, &format!("/Users/{id}"), &client).await.body["active"],
        true
    );
    assert_eq!(me(&app, &token).await, 200);
    assert!(events(&app, &token, &id).await.is_empty());
}

/// A PATCH that renames the last active admin and deactivates them is one transaction: the
/// deactivation is refused, so the new name is not kept either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_deactivation_keeps_the_profile_of_the_same_patch() {
    let app = spawn_app().await;
    let client = privileged_scim_client(&app, "okta").await;
    let (admin, token) = app.admin().await;
    let id = admin.id.to_string();
    let both = json!([
        {"op": "replace", "path": "name.familyName", "value": "Renamed"},
        {"op": "replace", "path": "active", "value": false}
    ]);
    let refused = patch(&app, &client, &id, both).await;
    assert_scim_error(&refused, 400, Some("mutability"));
    let found = get(&app, &format!("/Users/{id}"), &client).await;
    assert_eq!(found.body["active"], true);
    assert_eq!(found.body["name"]["familyName"], admin.last_name.as_str());
    assert_ne!(found.body["name"]["familyName"], "Renamed");
    assert!(events(&app, &token, &id).await.is_empty());
    let audit = app
        .send(
            Method::GET,
            "/api/v1/events?action=profile_updated",
            Some(&token),
            "",
        )
        .await;
    assert_eq!(audit.body["data"]["events"], json!([]), "{:?}", audit.body);
}

/// The policy: a client without `scim.privileged` provisions `user` accounts only. Its
/// deactivation, reactivation or deletion of an admin or helpdesk account is a SCIM 403 and
/// changes nothing (a leaked identity-provider token does not outrank Warden's admins).
#[tokio::test]
async fn a_plain_client_cannot_change_staff_accounts() {
    let app = spawn_app().await;
    let client = scim_client(&app, "okta").await;
    let (_, token) = app.admin().await;
    let admin = app.create_user(Role::Admin).await;
    let helpdesk = app.create_user(Role::Helpdesk).await;
    for target in [&admin, &helpdesk] {
        let id = target.id.to_string();
        let off = json!([{"op": "replace", "value": {"active": false}}]);
        assert_scim_error(&patch(&app, &client, &id, off).await, 403, None);
        let path = format!("/Users/{id}");
        let delete = scim(&app, Method::DELETE, &path, Some(&client), None).await;
        assert_scim_error(&delete, 403, None);
        let now = app.user(target).await;
        assert!(now.is_active(), "nothing changed");
        assert_eq!(now.token_version, target.token_version, "no tokens revoked");
        assert!(events(&app, &token, &id).await.is_empty());
    }
    // Deactivated by an admin as compromised, an admin stays deactivated.
    app.deactivate(&token, &admin, Some("compromised"))
        .await
        .assert_envelope(200, "User account deactivated successfully");
    let on = json!([{"op": "replace", "value": {"active": true}}]);
    let id = admin.id.to_string();
    assert_scim_error(&patch(&app, &client, &id, on).await, 403, None);
    assert!(!app.user(&admin).await.is_active());
}

/// A plain client cannot rename an administrator's sign-in address (a leaked identity-provider
/// token must not free an admin's address for a new account); renaming a user's address revokes
/// the user's tokens, like any change of how a person signs in.
#[tokio::test]
async fn sign_in_addresses_of_staff_are_out_of_reach_and_a_rename_revokes_tokens() {
    let app = spawn_app().await;
    let client = scim_client(&app, "okta").await;
    let (admin, admin_token) = app.admin().await;
    let rename = |email: String| json!([{"op": "replace", "path": "userName", "value": email}]);
    let id = admin.id.to_string();
    let refused = patch(&app, &client, &id, rename(unique_email("taken-over"))).await;
    assert_scim_error(&refused, 403, None);
    assert_eq!(app.user(&admin).await.email, admin.email, "nothing changed");
    assert_eq!(me(&app, &admin_token).await, 200);

    let member = app.create_user(Role::User).await;
    let member_token = app.token_for(&member).await;
    assert_eq!(me(&app, &member_token).await, 200);
    let renamed = patch(
        &app,
        &client,
        &member.id.to_string(),
        rename(unique_email("new")),
    )
    .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(me(&app, &member_token).await, 401, "the old tokens stop");
    let now = app.user(&member).await;
    assert_eq!(now.token_version, member.token_version + 1);
    // A change of names alone leaves the tokens alone.
    let fresh = app.token_for(&now).await;
    let names = json!([{"op": "replace", "path": "name.givenName", "value": "Augusta"}]);
    assert_eq!(
        patch(&app, &client, &member.id.to_string(), names)
            .await
            .status,
        200
    );
    assert_eq!(me(&app, &fresh).await, 200);
}
