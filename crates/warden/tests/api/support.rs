use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tempfile::TempDir;
use warden::run::app::open;
use warden::run::services::{Ports, Services};
use warden::{Application, Config};
use warden_domain::ports::{Outbox, UserRepo};
use warden_domain::use_cases::NewAccount;
use warden_domain::{Password, Role, User};
use warden_postgres::testing::TestSchema;
use warden_testkit::smtp_sink::{ReceivedMail, SmtpSink};

/// Random (`openssl rand -base64 48`): a patterned secret is refused at start.
pub const JWT_SECRET: &str = "jt7vu5/OEa8undiTtOYbo/Be6STpA3R9Hh7ZbJc6mVVeaAO/JMNCUdFQYNt2pazS";
pub const PASSWORD: &str = "correct horse battery";

/// A running Warden with its own database, data directory and SMTP sink.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub services: Services,
    pub users: Arc<dyn UserRepo>,
    pub outbox: Arc<dyn Outbox>,
    pub sink: SmtpSink,
    pub config: Config,
    pub data_dir: TempDir,
    _schema: Option<TestSchema>,
}

/// The database URL a test should use: a fresh PostgreSQL schema when
/// `WARDEN_TEST_DATABASE_URL` is set, else a fresh SQLite file in `dir`.
pub async fn test_database(dir: &TempDir) -> (String, Option<TestSchema>) {
    match std::env::var("WARDEN_TEST_DATABASE_URL") {
        Ok(base) if !base.trim().is_empty() => {
            let schema = TestSchema::create(&base).await.unwrap();
            (schema.url().to_owned(), Some(schema))
        }
        _ => (format!("sqlite://{}/warden.db", dir.path().display()), None),
    }
}

pub fn config_for(database_url: &str, dir: &TempDir, smtp_url: &str) -> Config {
    let vars = [
        ("DATABASE_URL", database_url.to_owned()),
        ("WARDEN_ADDR", "127.0.0.1:0".to_owned()),
        ("WARDEN_DATA_DIR", dir.path().display().to_string()),
        ("JWT_SECRET", JWT_SECRET.to_owned()),
        ("SMTP_URL", smtp_url.to_owned()),
        ("WARDEN_OUTBOX_POLL_MS", "100".to_owned()),
        ("WARDEN_HTTP_WORKERS", "2".to_owned()),
        ("WARDEN_DB_TIMEOUT_MS", "2000".to_owned()),
        // Retries within a test's patience.
        ("WARDEN_MAIL_RETRY_BASE_MS", "200".to_owned()),
        ("WARDEN_MAIL_RETRY_MAX_MS", "1000".to_owned()),
    ];
    Config::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
    .unwrap()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|ports| ports).await
}

/// Like [`spawn_app`], with a chance to replace adapters (to inject failures).
pub async fn spawn_app_with(adjust: impl FnOnce(Ports) -> Ports) -> TestApp {
    spawn(|_| {}, adjust).await.0
}

/// Like [`spawn_app`], with settings changed by `tune` first (timeouts, a second listener).
/// Also returns the operations listener's address when `tune` set `ops_addr`.
pub async fn spawn_app_tuned(tune: impl FnOnce(&mut Config)) -> (TestApp, Option<String>) {
    spawn(tune, |ports| ports).await
}

/// Like [`spawn_app_with`], with a chance to change the configuration first.
pub async fn spawn_app_configured(
    configure: impl FnOnce(&mut Config),
    adjust: impl FnOnce(Ports) -> Ports,
) -> TestApp {
    spawn(configure, adjust).await.0
}

/// A server on its own database and SMTP sink, configured by `configure`, on adapters adjusted
/// by `adjust`; with the operations listener's address when there is one.
async fn spawn(
    configure: impl FnOnce(&mut Config),
    adjust: impl FnOnce(Ports) -> Ports,
) -> (TestApp, Option<String>) {
    let data_dir = tempfile::tempdir().unwrap();
    let (database_url, schema) = test_database(&data_dir).await;
    let sink = SmtpSink::start().await.unwrap();
    let mut config = config_for(&database_url, &data_dir, &sink.url());
    configure(&mut config);
    let (store, ports) = open(&config).await.unwrap();
    let (users, outbox) = (store.users(), store.outbox());
    let app = Application::start(&config, adjust(ports)).unwrap();
    let services = app.services().clone();
    let address = format!("http://127.0.0.1:{}", app.port());
    let ops_address = app
        .ops_port()
        .map(|port| format!("http://127.0.0.1:{port}"));
    tokio::spawn(app.run_until_stopped());
    let app = TestApp {
        address,
        client: reqwest::Client::new(),
        services,
        users,
        outbox,
        sink,
        config,
        data_dir,
        _schema: schema,
    };
    (app, ops_address)
}

impl TestApp {
    pub async fn create_user(&self, role: Role) -> User {
        let email = format!("{}@example.com", uuid::Uuid::now_v7().simple());
        self.services
            .create_user
            .execute(NewAccount {
                email,
                password: Password::parse(PASSWORD).unwrap(),
                first_name: "Grace".into(),
                last_name: "Hopper".into(),
                role,
            })
            .await
            .unwrap()
    }

    pub async fn token_for(&self, user: &User) -> String {
        self.services
            .issue_token
            .for_email(
                &warden_domain::Operator::from_os_user("test"),
                user.email.as_str(),
            )
            .await
            .unwrap()
            .expose()
            .to_owned()
    }

    /// A fresh active admin and a token for it.
    pub async fn admin(&self) -> (User, String) {
        let admin = self.create_user(Role::Admin).await;
        let token = self.token_for(&admin).await;
        (admin, token)
    }

    pub async fn user(&self, user: &User) -> User {
        self.users.find_by_id(&user.id).await.unwrap().unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Sends `body` (raw) with an optional bearer token; returns status, body and request id.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        let mut request = self
            .client
            .request(method, self.url(path))
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Response::read(request.send().await.unwrap()).await
    }

    pub async fn patch_json(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.send(reqwest::Method::PATCH, path, token, body.to_string())
            .await
    }

    pub async fn deactivate(&self, token: &str, user: &User, reason: Option<&str>) -> Response {
        let body = serde_json::json!({"user_id": user.id.to_string(), "reason": reason});
        self.patch_json("/api/v1/users/deactivate", Some(token), &body)
            .await
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics_text(&self) -> String {
        let response = self.client.get(self.url("/metrics")).send().await.unwrap();
        response.text().await.unwrap()
    }

    /// Waits until every queued notification has been delivered (or given up on): what the
    /// sink holds afterwards is all the mail there will be.
    pub async fn outbox_settles(&self) {
        tokio::time::timeout(Duration::from_secs(10), async {
            while self.outbox.stats().await.unwrap().pending > 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the outbox did not settle within 10 s");
    }

    /// Waits for `count` emails and for the outbox to settle (every notification sent or given
    /// up on, and a notification is marked sent only once the sink accepted it), then asserts
    /// the sink holds exactly `count`: nothing more is on its way.
    pub async fn emails(&self, count: usize) -> Vec<ReceivedMail> {
        self.sink
            .wait_for(count, Duration::from_secs(10))
            .await
            .unwrap();
        self.outbox_settles().await;
        let mails = self.sink.messages();
        assert_eq!(mails.len(), count, "more mail than expected");
        mails
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Response {
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text:?}"));
        Self {
            status,
            headers,
            body,
        }
    }

    /// Asserts the exact envelope with an empty `data`.
    pub fn assert_envelope(&self, status: u16, message: &str) {
        self.assert_shape(status, message);
        assert_eq!(self.body["data"], serde_json::json!({}), "{:?}", self.body);
    }

    /// Asserts the envelope's status fields and message, whatever `data` holds.
    pub fn assert_shape(&self, status: u16, message: &str) {
        assert_eq!(self.status.as_u16(), status, "{:?}", self.body);
        let outcome = if status < 400 { "success" } else { "error" };
        assert_eq!(self.body["status"], outcome, "{:?}", self.body);
        assert_eq!(self.body["status_code"], status, "{:?}", self.body);
        assert_eq!(self.body["message"], message, "{:?}", self.body);
        let keys: Vec<&str> = self
            .body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), 4, "{keys:?}");
        assert!(self.headers.contains_key("x-request-id"));
    }

    pub fn error_fields(&self) -> Vec<String> {
        self.body["data"]["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    }
}
