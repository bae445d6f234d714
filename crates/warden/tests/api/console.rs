//! The admin console at `/admin`: its files and headers over HTTP, then the everyday work in a
//! real browser (Debian's Chromium through chromedriver; see `webdriver.rs`).
//!
//! With `WARDEN_CONSOLE_SCREENSHOTS=<dir>` the main flow also saves screenshots of the main
//! pages at 1280 and 375 px wide (`make screenshots` writes docs/console/).

use reqwest::StatusCode;
use serde_json::json;
use warden_domain::use_cases::NewAccount;
use warden_domain::{Password, Role, User};

use crate::support::{spawn_app, Response, TestApp, PASSWORD};
use crate::webdriver::{chromedriver, Browser, Driver};

#[tokio::test]
async fn the_console_is_served_with_a_strict_content_security_policy() {
    let app = spawn_app().await;
    for path in ["/admin", "/admin/"] {
        let page = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        let headers = page.headers().clone();
        assert!(headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let csp = headers["content-security-policy"].to_str().unwrap();
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{csp}");
        }
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(headers["x-frame-options"], "DENY");
        let html = page.text().await.unwrap();
        // Every script is a file of its own: the policy would block an inline one anyway.
        assert_eq!(
            html.matches("<script").count(),
            html.matches("<script src=\"/admin/").count()
        );
        assert!(!html.contains(" on"), "no inline event handlers");
    }
    let script = app
        .client
        .get(app.url("/admin/console.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert!(script.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let script = script.text().await.unwrap();
    // User data goes in as text; the token never reaches storage that outlives the tab.
    for forbidden in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "localStorage",
        "document.cookie",
        "eval(",
    ] {
        assert!(!script.contains(forbidden), "console.js uses {forbidden}");
    }
    let style = app
        .client
        .get(app.url("/admin/console.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(style.status(), StatusCode::OK);

    let wrong_method = app.client.post(app.url("/admin")).send().await.unwrap();
    Response::read(wrong_method)
        .await
        .assert_envelope(405, "Method not allowed");
    let missing = app
        .client
        .get(app.url("/admin/missing.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

/// A browser signed in to the console of `app` as `user`.
async fn signed_in(browser: &Browser, app: &TestApp, user: &User) {
    browser.goto(&app.url("/admin")).await;
    let email = browser.labelled("Email").await;
    browser.type_into(&email, user.email.as_str()).await;
    let password = browser.labelled("Password").await;
    browser.type_into(&password, PASSWORD).await;
    let sign_in = browser.button("Sign in").await;
    browser.click(&sign_in).await;
}

async fn account(app: &TestApp, first_name: &str, last_name: &str, role: Role) -> User {
    app.services
        .create_user
        .execute(NewAccount {
            email: format!("{}@example.com", uuid::Uuid::now_v7().simple()),
            password: Password::parse(PASSWORD).unwrap(),
            first_name: first_name.into(),
            last_name: last_name.into(),
            role,
        })
        .await
        .unwrap()
}

struct Screenshots(Option<std::path::PathBuf>);

impl Screenshots {
    fn from_env() -> Self {
        Self(std::env::var_os("WARDEN_CONSOLE_SCREENSHOTS").map(Into::into))
    }

    async fn take(&self, browser: &Browser, name: &str) {
        if let Some(dir) = &self.0 {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join(format!("{name}.png")), browser.screenshot().await).unwrap();
        }
    }
}

#[tokio::test]
async fn an_admin_finds_a_user_deactivates_with_a_reason_and_reactivates() {
    let Some(binary) = chromedriver() else { return };
    let app = spawn_app().await;
    let admin = account(&app, "Ada", "Lovelace", Role::Admin).await;
    let target = account(&app, "Linus", "Console", Role::User).await;
    let driver = Driver::start(&binary).await;
    let shots = Screenshots::from_env();
    let browser = driver.session(1280, 800).await;

    browser.goto(&app.url("/admin")).await;
    browser.labelled("Email").await;
    shots.take(&browser, "sign-in-1280").await;
    signed_in(&browser, &app, &admin).await;

    // Find the user by a prefix of the last name.
    let search = browser.labelled("Search users").await;
    browser.type_into(&search, "consol").await;
    browser.click(&browser.button("Search").await).await;
    browser
        .wait_for_text("Accounts matching \u{201c}consol\u{201d}")
        .await;
    let link = browser
        .wait_for(&format!("//a[normalize-space(.)='{}']", target.email))
        .await;
    shots.take(&browser, "users-1280").await;
    browser.click(&link).await;
    browser.wait_for_text("Can this user sign in?").await;

    // Deactivate, with a reason, after confirming.
    browser.click(&browser.button("Deactivate").await).await;
    let reason = browser.labelled("Reason").await;
    browser.type_into(&reason, "Left the company").await;
    browser.click(&browser.button("Confirm").await).await;
    browser
        .wait_for_text(&format!("Deactivated {}.", target.email))
        .await;
    let page = browser.text_of_page().await;
    assert!(page.contains("Left the company"), "{page}");
    assert!(
        page.contains(&format!("{} (user)", admin.email)),
        "who: {page}"
    );
    assert!(page.contains("deactivated"), "the event: {page}");
    let stored = app.user(&target).await;
    assert!(
        !stored.is_active(),
        "the console's deactivation reached the store"
    );
    shots.take(&browser, "user-1280").await;

    // Reactivate, after confirming.
    browser.click(&browser.button("Reactivate").await).await;
    browser.click(&browser.button("Confirm").await).await;
    browser
        .wait_for_text(&format!("Reactivated {}.", target.email))
        .await;
    assert!(app.user(&target).await.is_active());
    let page = browser.text_of_page().await;
    assert!(
        page.contains("reactivated"),
        "the history shows both: {page}"
    );

    // The token stays in this tab's sessionStorage, never in localStorage or a cookie.
    let storage = browser
        .script("return [sessionStorage.length, localStorage.length, document.cookie]")
        .await;
    assert_eq!(storage, json!([1, 0, ""]));

    // The system-wide audit log shows both changes.
    browser.goto(&app.url("/admin#/audit")).await;
    browser.wait_for_text("Audit log").await;
    browser.wait_for_text(&target.id.to_string()).await;
    shots.take(&browser, "audit-1280").await;

    // Sign out forgets the token.
    browser.click(&browser.button("Sign out").await).await;
    browser.button("Sign in").await;
    let storage = browser.script("return sessionStorage.length").await;
    assert_eq!(storage, json!(0));
    browser.close().await;

    if shots.0.is_some() {
        let narrow = driver.session(375, 812).await;
        narrow.goto(&app.url("/admin")).await;
        narrow.labelled("Email").await;
        shots.take(&narrow, "sign-in-375").await;
        signed_in(&narrow, &app, &admin).await;
        narrow.labelled("Search users").await;
        shots.take(&narrow, "users-375").await;
        narrow
            .goto(&app.url(&format!("/admin#/users/{}", target.id)))
            .await;
        narrow.wait_for_text("Can this user sign in?").await;
        shots.take(&narrow, "user-375").await;
        narrow.close().await;
    }
}

#[tokio::test]
async fn the_guards_are_shown_as_the_api_words_them() {
    let Some(binary) = chromedriver() else { return };
    let app = spawn_app().await;
    let admin = account(&app, "Only", "Admin", Role::Admin).await;
    let driver = Driver::start(&binary).await;
    let browser = driver.session(1280, 800).await;
    signed_in(&browser, &app, &admin).await;
    browser.labelled("Search users").await;
    browser
        .goto(&app.url(&format!("/admin#/users/{}", admin.id)))
        .await;
    browser.click(&browser.button("Deactivate").await).await;
    browser.click(&browser.button("Confirm").await).await;
    // The API's own words for deactivating oneself.
    let token = app.token_for(&admin).await;
    let body = json!({ "user_id": admin.id.to_string() });
    let refused = app
        .patch_json("/api/v1/users/deactivate", Some(&token), &body)
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    browser
        .wait_for_text(refused.body["message"].as_str().unwrap())
        .await;
    assert!(app.user(&admin).await.is_active());
    browser.close().await;
}

#[tokio::test]
async fn a_non_admin_is_refused_with_a_clear_message() {
    let Some(binary) = chromedriver() else { return };
    let app = spawn_app().await;
    let user = account(&app, "Plain", "User", Role::User).await;
    let driver = Driver::start(&binary).await;
    let browser = driver.session(1280, 800).await;
    signed_in(&browser, &app, &user).await;
    browser
        .wait_for_text("This console is for admins only.")
        .await;
    assert!(browser.find("//*[@aria-label='Search users' or @id=//label[normalize-space(.)='Search users']/@for]").await.is_none());
    assert_eq!(
        browser.script("return sessionStorage.length").await,
        json!(0)
    );
    browser.close().await;
}

#[tokio::test]
async fn html_in_user_data_is_shown_as_text_and_runs_nothing() {
    let Some(binary) = chromedriver() else { return };
    let app = spawn_app().await;
    let admin = account(&app, "Ada", "Lovelace", Role::Admin).await;
    let payload = "<img src=x onerror=window.pwned=1>";
    let target = account(&app, payload, "<b>bold</b>", Role::User).await;
    let token = app.token_for(&admin).await;
    let body =
        json!({ "user_id": target.id.to_string(), "reason": "<script>window.pwned=2</script>" });
    let done = app
        .patch_json("/api/v1/users/deactivate", Some(&token), &body)
        .await;
    assert_eq!(done.status, StatusCode::OK);

    let driver = Driver::start(&binary).await;
    let browser = driver.session(1280, 800).await;
    signed_in(&browser, &app, &admin).await;
    browser.wait_for_text(payload).await;
    browser
        .goto(&app.url(&format!("/admin#/users/{}", target.id)))
        .await;
    browser
        .wait_for_text("<script>window.pwned=2</script>")
        .await;
    browser.wait_for_text("<b>bold</b>").await;
    let executed = browser
        .script("return [typeof window.pwned, document.querySelectorAll('main img, main b, main script').length]")
        .await;
    assert_eq!(executed, json!(["undefined", 0]));
    browser.close().await;
}

#[tokio::test]
async fn a_revoked_admin_returns_to_sign_in_on_the_next_action() {
    let Some(binary) = chromedriver() else { return };
    let app = spawn_app().await;
    let admin = account(&app, "Soon", "Gone", Role::Admin).await;
    let (_other, other_token) = app.admin().await;
    let driver = Driver::start(&binary).await;
    let browser = driver.session(1280, 800).await;
    signed_in(&browser, &app, &admin).await;
    let search = browser.labelled("Search users").await;

    let revoked = app
        .deactivate(&other_token, &admin, Some("Offboarded"))
        .await;
    assert_eq!(revoked.status, StatusCode::OK);

    browser.type_into(&search, "anyone").await;
    browser.click(&browser.button("Search").await).await;
    browser.button("Sign in").await;
    browser.wait_for_text("Your session has ended").await;
    assert_eq!(
        browser.script("return sessionStorage.length").await,
        json!(0)
    );
    browser.close().await;
}

#[tokio::test]
async fn a_deactivation_until_a_date_shows_when_it_ends() {
    let Some(binary) = chromedriver() else { return };
    let app = spawn_app().await;
    let admin = account(&app, "Ada", "Lovelace", Role::Admin).await;
    let target = account(&app, "Paused", "Person", Role::User).await;
    let driver = Driver::start(&binary).await;
    let browser = driver.session(1280, 800).await;
    signed_in(&browser, &app, &admin).await;
    browser.labelled("Search users").await;
    browser
        .goto(&app.url(&format!("/admin#/users/{}", target.id)))
        .await;
    browser.click(&browser.button("Deactivate").await).await;
    browser.labelled("Until").await;
    // A date picker is typed differently in every locale: set the field as the picker would,
    // to a local time two days ahead.
    browser
        .script(
            "const d = new Date(Date.now() + 2 * 86400e3); const p = (n) => String(n).padStart(2, '0'); \
             document.querySelector('input[name=until]').value = \
             `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;",
        )
        .await;
    browser.click(&browser.button("Confirm").await).await;
    browser
        .wait_for_text(&format!("Deactivated {}.", target.email))
        .await;
    let stored = app.user(&target).await;
    let until = match &stored.status {
        warden_domain::AccountStatus::Deactivated(d) => d.until.expect("an end was stored"),
        other => panic!("still {other:?}"),
    };
    let ahead = until - chrono::Utc::now();
    assert!(
        ahead > chrono::TimeDelta::hours(47) && ahead < chrono::TimeDelta::hours(49),
        "{ahead:?}"
    );
    // The page names the end, as the API gives it.
    let page = browser.text_of_page().await;
    assert!(!page.contains("No end date"), "{page}");
    assert!(
        page.contains(&until.format("%Y-%m-%dT%H:%M").to_string()),
        "{page}"
    );
    browser.close().await;
}
