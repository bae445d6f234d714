//! SCIM writes re-check the provisioning client when they commit: a `POST /scim/v2/Users` or a
//! `PATCH` of a profile whose body is held back while the client is revoked writes nothing.
//! Profile changes that commit are audited (`profile_updated`, with attribute names only).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::Notify;
use warden_domain::ports::{ClientRepo, StoreError};
use warden_domain::{Authorized, Client, ClientRef, Guarded, NewClient, TokenHash};

use crate::authority::HeldRequest;
use crate::scim_support::{okta_user, patch, scim, scim_client, unique_email, PATCH_SCHEMA};
use crate::support::{spawn_app_with, TestApp};

/// The real client store, reporting each time a token is looked up (as authentication does).
struct Watched {
    inner: Arc<dyn ClientRepo>,
    looked_up: Arc<std::sync::atomic::AtomicUsize>,
    wake: Arc<Notify>,
}

#[async_trait]
impl ClientRepo for Watched {
    async fn create(
        &self,
        client: NewClient,
        by: &Authorized,
    ) -> Result<Guarded<Client>, StoreError> {
        self.inner.create(client, by).await
    }

    async fn list(&self) -> Result<Vec<Client>, StoreError> {
        self.inner.list().await
    }

    async fn revoke(
        &self,
        which: &ClientRef,
        by: &Authorized,
    ) -> Result<Guarded<Option<Client>>, StoreError> {
        self.inner.revoke(which, by).await
    }

    async fn find_live_by_token_hash(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<Client>, StoreError> {
        let found = self.inner.find_live_by_token_hash(hash).await;
        self.looked_up
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.wake.notify_waiters();
        found
    }
}

struct Probe {
    looked_up: Arc<std::sync::atomic::AtomicUsize>,
    wake: Arc<Notify>,
}

impl Probe {
    fn count(&self) -> usize {
        self.looked_up.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits until `times` client tokens were looked up in all.
    async fn looked_up(&self, times: usize) {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let notified = self.wake.notified();
                if self.count() >= times {
                    return;
                }
                notified.await;
            }
        })
        .await
        .expect("the held request was never authenticated");
    }
}

async fn spawn_watched() -> (TestApp, Probe) {
    let looked_up = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let wake = Arc::new(Notify::new());
    let probe = Probe {
        looked_up: looked_up.clone(),
        wake: wake.clone(),
    };
    let app = spawn_app_with(move |mut ports| {
        ports.clients = Arc::new(Watched {
            inner: ports.clients,
            looked_up,
            wake,
        });
        ports
    })
    .await;
    (app, probe)
}

const SCIM_JSON: &str = "application/scim+json";

fn assert_scim_refused(status: u16, body: &Value) {
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["status"], "401", "{body}");
}

async fn revoke_client(app: &TestApp, admin: &str, name: &str) {
    let listed = app
        .send(Method::GET, "/api/v1/clients", Some(admin), "")
        .await;
    let clients = listed.body["data"]["clients"].as_array().unwrap().clone();
    let id = clients.iter().find(|c| c["name"] == name).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.send(
        Method::DELETE,
        &format!("/api/v1/clients/{id}"),
        Some(admin),
        "",
    )
    .await
    .assert_shape(200, "Client revoked successfully");
}

async fn events(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let found = app
        .send(
            Method::GET,
            &format!("/api/v1/events?{query}"),
            Some(token),
            "",
        )
        .await;
    found.assert_shape(200, "Events retrieved successfully");
    found.body["data"]["events"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_scim_writes_by_a_revoked_client_write_nothing() {
    let (app, probe) = spawn_watched().await;
    let (_, admin) = app.admin().await;
    let token = scim_client(&app, "okta").await;
    let created = scim(
        &app,
        Method::POST,
        "/Users",
        Some(&token),
        Some(&okta_user(&unique_email("kept"))),
    )
    .await;
    assert_eq!(created.status.as_u16(), 201, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();

    let before = probe.count();
    let email = unique_email("held");
    let on_new = HeldRequest::start_typed(
        &app,
        "POST",
        "/scim/v2/Users",
        &token,
        SCIM_JSON,
        okta_user(&email),
    )
    .await;
    let rename = json!({"schemas": [PATCH_SCHEMA], "Operations": [
        {"op": "replace", "path": "name.familyName", "value": "Mallory"},
        {"op": "replace", "path": "userName", "value": unique_email("taken-over")}
    ]});
    let on_existing = HeldRequest::start_typed(
        &app,
        "PATCH",
        &format!("/scim/v2/Users/{id}"),
        &token,
        SCIM_JSON,
        rename,
    )
    .await;
    probe.looked_up(before + 2).await;
    revoke_client(&app, &admin, "okta").await;

    for held in [on_new, on_existing] {
        let (status, body) = held.finish().await;
        assert_scim_refused(status, &body);
    }
    let found = app
        .send(
            Method::GET,
            &format!("/api/v1/users?q={}", &email[..10]),
            Some(&admin),
            "",
        )
        .await;
    assert_eq!(
        found.body["data"]["users"],
        json!([]),
        "no account was provisioned"
    );
    let user = app
        .send(
            Method::GET,
            &format!("/api/v1/users/{id}"),
            Some(&admin),
            "",
        )
        .await;
    assert_eq!(
        user.body["data"]["last_name"], "Lovelace",
        "{:?}",
        user.body
    );
    assert_eq!(
        events(&app, &admin, "action=profile_updated").await,
        Vec::<Value>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_profile_changes_are_audited_by_attribute_name() {
    let (app, _probe) = spawn_watched().await;
    let (_, admin) = app.admin().await;
    let token = scim_client(&app, "okta").await;
    let created = scim(
        &app,
        Method::POST,
        "/Users",
        Some(&token),
        Some(&okta_user(&unique_email("audit"))),
    )
    .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let renamed = patch(
        &app,
        &token,
        &id,
        json!([
            {"op": "replace", "path": "name.familyName", "value": "Byron"}
        ]),
    )
    .await;
    assert_eq!(renamed.status.as_u16(), 200, "{:?}", renamed.body);

    let found = events(&app, &admin, "action=profile_updated").await;
    assert_eq!(found.len(), 1, "{found:?}");
    let event = &found[0];
    assert_eq!(event["target"], json!({"kind": "user", "id": id}));
    assert_eq!(event["target_id"], json!(id));
    assert_eq!(event["attributes"], json!(["last_name"]));
    assert_eq!(event["actor"]["kind"], "client");
    assert_eq!(event["actor"]["name"], "okta");
    assert!(!event.to_string().contains("Byron"), "names, never values");
}
