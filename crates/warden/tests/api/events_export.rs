//! `GET /api/v1/events/export`: NDJSON in three formats, a `Link: rel="next"` on every answer,
//! errors in the envelope, 410 after the retention deleted what a cursor had not read, and the
//! cursor's promise under concurrent writers.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use serde_json::{json, Value};
use warden_domain::{Role, Scope};

use crate::clients::client_token;
use crate::support::{spawn_app, Response, TestApp};

/// One answer of the export.
struct Page {
    status: u16,
    content_type: String,
    /// The `next` URL of the `Link` header.
    next: String,
    lines: Vec<Value>,
}

fn next_of(link: &str) -> String {
    let start = link.find('<').expect("Link has <") + 1;
    let end = link.find(">; rel=\"next\"").expect("rel=\"next\"");
    link[start..end].to_owned()
}

async fn get_url(app: &TestApp, url: &str, token: &str) -> reqwest::Response {
    app.client.get(url).bearer_auth(token).send().await.unwrap()
}

async fn page_at(app: &TestApp, url: &str, token: &str) -> Page {
    let response = get_url(app, url, token).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    let link = headers
        .get("link")
        .expect("a Link header")
        .to_str()
        .unwrap();
    Page {
        status,
        content_type: headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default(),
        next: next_of(link),
        lines: text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect(),
    }
}

async fn export(app: &TestApp, query: &str, token: &str) -> Page {
    page_at(
        app,
        &app.url(&format!("/api/v1/events/export?{query}")),
        token,
    )
    .await
}

async fn export_error(app: &TestApp, query: &str, token: Option<&str>) -> Response {
    let mut request = app
        .client
        .get(app.url(&format!("/api/v1/events/export?{query}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    Response::read(request.send().await.unwrap()).await
}

#[tokio::test]
async fn ocsf_lines_follow_account_change_and_next_is_given_also_when_empty() {
    let app = spawn_app().await;
    let (admin, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    app.deactivate(&token, &target, Some("Left the company"))
        .await
        .assert_envelope(200, "User account deactivated successfully");

    let first = export(&app, "format=ocsf&limit=10", &token).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.content_type, "application/x-ndjson");
    assert_eq!(first.lines.len(), 1, "{:?}", first.lines);
    let line = &first.lines[0];
    assert_eq!(line["class_uid"], 3001);
    assert_eq!(line["category_uid"], 3);
    assert_eq!(line["activity_id"], 5);
    assert_eq!(line["type_uid"], 300_105);
    assert_eq!(line["severity_id"], 1);
    assert_eq!(line["status_id"], 1);
    assert_eq!(line["message"], "Left the company");
    assert_eq!(line["metadata"]["product"]["name"], "Warden");
    assert_eq!(line["metadata"]["version"], "1.5.0");
    assert_eq!(line["actor"]["user"]["uid"], admin.id.to_string());
    assert_eq!(line["actor"]["user"]["name"], admin.email.as_str());
    assert_eq!(line["actor"]["user"]["type"], "Admin");
    assert_eq!(line["user"]["uid"], target.id.to_string());
    assert_eq!(line["user"]["email_addr"], target.email.as_str());
    assert!(
        line["time"].as_i64().unwrap() > 1_700_000_000_000,
        "epoch ms"
    );
    // The event id is the one GET /api/v1/events shows.
    let events = app
        .send(reqwest::Method::GET, "/api/v1/events", Some(&token), "")
        .await;
    assert_eq!(
        line["metadata"]["uid"],
        events.body["data"]["events"][0]["id"]
    );

    // Nothing new: an empty page, whose next is itself.
    let empty = page_at(&app, &first.next, &token).await;
    assert!(empty.lines.is_empty());
    assert_eq!(empty.next, first.next);
    assert!(first.next.starts_with(&app.address), "{}", first.next);

    // A reactivation appears on the same next, as Enable.
    app.patch_json(
        "/api/v1/users/reactivate",
        Some(&token),
        &json!({"user_id": target.id.to_string()}),
    )
    .await
    .assert_envelope(200, "User account reactivated successfully");
    let later = page_at(&app, &empty.next, &token).await;
    assert_eq!(later.lines.len(), 1);
    assert_eq!(later.lines[0]["activity_id"], 2);
    assert_eq!(later.lines[0]["type_uid"], 300_102);
    assert_ne!(later.next, empty.next);
}

#[tokio::test]
async fn ecs_and_warden_lines() {
    let app = spawn_app().await;
    let (admin, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    app.deactivate(&token, &target, Some("Audit"))
        .await
        .assert_envelope(200, "User account deactivated successfully");

    let ecs = export(&app, "format=ecs", &token).await;
    let line = &ecs.lines[0];
    assert_eq!(line["event"]["action"], "deactivated");
    assert_eq!(line["event"]["category"], json!(["iam"]));
    assert_eq!(line["event"]["type"], json!(["user", "change"]));
    assert_eq!(line["event"]["outcome"], "success");
    assert_eq!(line["user"]["id"], admin.id.to_string());
    assert_eq!(line["user"]["email"], admin.email.as_str());
    assert_eq!(line["user"]["target"]["id"], target.id.to_string());
    assert_eq!(line["user"]["target"]["email"], target.email.as_str());
    assert_eq!(line["message"], "Audit");
    assert!(line["@timestamp"].as_str().unwrap().ends_with('Z'));

    let warden = export(&app, "format=warden", &token).await;
    let events = app
        .send(reqwest::Method::GET, "/api/v1/events", Some(&token), "")
        .await;
    assert_eq!(warden.lines[0], events.body["data"]["events"][0]);
}

#[tokio::test]
async fn errors_keep_the_envelope_and_a_client_needs_the_audit_scope() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    for (query, field) in [
        ("format=cef", "format"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=x", "limit"),
        ("cursor=nope", "cursor"),
    ] {
        let answer = export_error(&app, query, Some(&token)).await;
        answer.assert_shape(422, "Invalid input");
        assert_eq!(answer.error_fields(), vec![field.to_owned()], "{query}");
    }
    export_error(&app, "", None)
        .await
        .assert_shape(401, "Could not validate admin credentials");
    let user = app.create_user(Role::User).await;
    let user_token = app.token_for(&user).await;
    assert_eq!(export_error(&app, "", Some(&user_token)).await.status, 403);
    let introspector = client_token(&app, "introspector", &[Scope::Introspect]).await;
    assert_eq!(
        export_error(&app, "", Some(&introspector)).await.status,
        403
    );
    let collector = client_token(&app, "siem", &[Scope::Audit]).await;
    let page = export(&app, "format=ocsf&limit=1000", &collector).await;
    // The creation of the two clients is audited too (activity Create, then Other 99 is not
    // used: client_created maps to Create).
    assert_eq!(page.lines.len(), 2, "{:?}", page.lines);
    assert!(page.lines.iter().all(|l| l["activity_id"] == 1));
}

#[tokio::test]
async fn a_cursor_before_events_the_retention_deleted_is_gone() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    for _ in 0..2 {
        let target = app.create_user(Role::User).await;
        app.deactivate(&token, &target, None)
            .await
            .assert_envelope(200, "User account deactivated successfully");
    }
    let first = export(&app, "limit=1", &token).await;
    let second = page_at(&app, &first.next, &token).await;
    assert_eq!(second.lines.len(), 1);
    // Everything older than now is deleted: the first cursor had not read the second event.
    let deleted = app
        .services
        .export_audit
        .purge_older_than(TimeDelta::zero())
        .await
        .unwrap();
    assert_eq!(deleted, 2);
    let gone = Response::read(get_url(&app, &first.next, &token).await).await;
    gone.assert_envelope(410, "Cursor expired");
    // The cursor after the last deleted event lost nothing; nor does a new collector.
    let caught_up = page_at(&app, &second.next, &token).await;
    assert!(caught_up.lines.is_empty());
    assert!(export(&app, "", &token).await.lines.is_empty());
}

/// The cursor's promise: 8 writers change statuses for 10 s while a collector walks the export
/// 7 at a time; it then reads on until it has every stored event. No line twice, none missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_collector_walking_while_writers_commit_gets_every_event_exactly_once() {
    let app = Arc::new(spawn_app().await);
    let (_, token) = app.admin().await;
    let mut targets = Vec::new();
    for _ in 0..8 {
        targets.push(app.create_user(Role::User).await);
    }
    let done = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = targets
        .into_iter()
        .map(|target| {
            let (app, token, done) = (app.clone(), token.clone(), done.clone());
            tokio::spawn(async move {
                let mut changes = 0u32;
                while !done.load(Ordering::SeqCst) {
                    let path = if changes % 2 == 0 {
                        "/api/v1/users/deactivate"
                    } else {
                        "/api/v1/users/reactivate"
                    };
                    let answer = app
                        .patch_json(
                            path,
                            Some(&token),
                            &json!({"user_id": target.id.to_string()}),
                        )
                        .await;
                    assert_eq!(answer.status, 200, "{:?}", answer.body);
                    changes += 1;
                }
                changes
            })
        })
        .collect();
    // The load runs for 10 s; nothing is asserted about time.
    let stop = {
        let done = done.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            done.store(true, Ordering::SeqCst);
        })
    };

    let mut seen: Vec<String> = Vec::new();
    let mut unique: HashSet<String> = HashSet::new();
    let mut next = app.url("/api/v1/events/export?format=warden&limit=7");
    while !done.load(Ordering::SeqCst) {
        let page = page_at(&app, &next, &token).await;
        next = read(page, &mut seen, &mut unique);
    }
    stop.await.unwrap();
    let mut written = 0;
    for writer in writers {
        written += writer.await.unwrap();
    }
    // Every event stored, from the audit log (newest first, 100 a page).
    let mut stored = HashSet::new();
    let mut cursor = String::new();
    loop {
        let path = format!("/api/v1/events?limit=100{cursor}");
        let answer = app
            .send(reqwest::Method::GET, &path, Some(&token), "")
            .await;
        for event in answer.body["data"]["events"].as_array().unwrap() {
            stored.insert(event["id"].as_str().unwrap().to_owned());
        }
        match answer.body["data"]["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(stored.len(), written as usize, "one event per change");
    // Read on until the collector has as many as are stored (an event of a transaction that
    // is still being finished elsewhere comes on a later poll), or until a page brings one
    // that is not stored.
    // (The deadline only keeps a broken promise from hanging the test.)
    tokio::time::timeout(Duration::from_secs(120), async {
        while unique.len() < stored.len() {
            let page = page_at(&app, &next, &token).await;
            let empty = page.lines.is_empty();
            next = read(page, &mut seen, &mut unique);
            if empty {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{} of {} events exported", unique.len(), stored.len()));
    assert_eq!(seen.len(), unique.len(), "no duplicate");
    assert_eq!(unique, stored, "the lines read are the events stored");
    assert!(written > 16, "the writers did write ({written})");
}

/// Takes in the lines of `page`, asserting none was seen before; returns its `next`.
fn read(page: Page, seen: &mut Vec<String>, unique: &mut HashSet<String>) -> String {
    for line in page.lines {
        let id = line["id"].as_str().unwrap().to_owned();
        assert!(unique.insert(id.clone()), "{id} exported twice");
        seen.push(id);
    }
    page.next
}
