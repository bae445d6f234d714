//! The fault tests' world: a database of their own, the real `warden` binary as child processes,
//! and plain HTTP clients.

use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;
use warden::run::app::open;
use warden::run::services::Services;
use warden::Config;
use warden_domain::ports::{Outbox, OutboxStats, OutboxStatus, UserRepo};
use warden_domain::{EmailAddress, NewUser, PasswordHash, Role, User, UserId};
use warden_postgres::testing::TestSchema;
use warden_testkit::smtp_sink::{ReceivedMail, SmtpSink};

/// Random (`openssl rand -base64 48`): a patterned secret is refused at start.
pub const JWT_SECRET: &str = "W4hKhadwNSYPk1GZrHsNcV8qn5YkI+k1BJGG+SAVNHTMG3jTRfq20bE0vWpZyShJ";
/// How long a child process may take to start answering HTTP (a debug build, a busy machine).
const STARTUP: Duration = Duration::from_secs(30);

/// What a test runs against: its own temp directory and database (a SQLite file, or a fresh
/// PostgreSQL schema), plus an in-process view of the same database to seed it and to check
/// what the servers wrote.
pub struct World {
    pub dir: TempDir,
    /// The URL servers get (and the checks use).
    pub database_url: String,
    pub services: Services,
    pub users: Arc<dyn UserRepo>,
    pub outbox: Arc<dyn Outbox>,
    // Last: dropped after the in-process pools above.
    _schema: Option<TestSchema>,
}

impl World {
    /// SQLite, or PostgreSQL when `WARDEN_TEST_DATABASE_URL` is set.
    pub async fn new() -> World {
        let chosen = std::env::var("WARDEN_TEST_DATABASE_URL")
            .ok()
            .filter(|url| !url.trim().is_empty());
        match chosen {
            Some(base) => Self::on_postgres(&base).await,
            None => Self::sqlite().await,
        }
    }

    /// A fresh SQLite file, whatever the environment says.
    pub async fn sqlite() -> World {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/warden.db", dir.path().display());
        Self::open(dir, url, None).await
    }

    /// PostgreSQL only; `None` (after saying why on stdout) when `WARDEN_TEST_DATABASE_URL` is
    /// unset outside CI (under CI the local cluster is used: such a test never passes unrun).
    pub async fn postgres(test: &str) -> Option<World> {
        let Some(base) = postgres_base_url() else {
            println!(
                "SKIPPED {test}: needs PostgreSQL; set WARDEN_TEST_DATABASE_URL \
                 (e.g. postgres://postgres@127.0.0.1:5432/test) to run it"
            );
            return None;
        };
        Some(Self::on_postgres(&base).await)
    }

    async fn on_postgres(base: &str) -> World {
        let schema = TestSchema::create(base).await.unwrap();
        let url = schema.url().to_owned();
        Self::open(tempfile::tempdir().unwrap(), url, Some(schema)).await
    }

    async fn open(dir: TempDir, database_url: String, schema: Option<TestSchema>) -> World {
        let vars = HashMap::from([
            ("DATABASE_URL", database_url.clone()),
            ("WARDEN_DATA_DIR", dir.path().display().to_string()),
            ("JWT_SECRET", JWT_SECRET.to_owned()),
        ]);
        let config = Config::from_lookup(|name| vars.get(name).cloned()).unwrap();
        let (store, ports) = open(&config).await.unwrap();
        World {
            services: Services::new(ports, config.retry_policy()),
            users: store.users(),
            outbox: store.outbox(),
            dir,
            database_url,
            _schema: schema,
        }
    }

    /// A new active account, written straight to the store (nobody signs in with a password
    /// here, so no slow hashing).
    pub async fn create_user(&self, role: Role) -> User {
        let id = UserId::generate();
        let email = EmailAddress::parse(&format!("{}@example.com", id.as_uuid().simple())).unwrap();
        self.users
            .create(NewUser {
                id,
                email,
                password_hash: PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$x$y".into()),
                first_name: "Grace".into(),
                last_name: "Hopper".into(),
                role,
                created_at: chrono::Utc::now(),
            })
            .await
            .unwrap()
    }

    pub async fn create_users(&self, count: usize) -> Vec<User> {
        let mut users = Vec::with_capacity(count);
        for _ in 0..count {
            users.push(self.create_user(Role::User).await);
        }
        users
    }

    /// A fresh admin's access token (signed with [`JWT_SECRET`], which every server shares).
    pub async fn admin_token(&self) -> String {
        let admin = self.create_user(Role::Admin).await;
        self.services
            .issue_token
            .for_email(
                &warden_domain::Operator::from_os_user("test"),
                admin.email.as_str(),
            )
            .await
            .unwrap()
            .expose()
            .to_owned()
    }

    pub async fn reload(&self, user: &User) -> User {
        self.users.find_by_id(&user.id).await.unwrap().unwrap()
    }

    /// The audit rows recorded for `user`.
    pub async fn audit_rows(&self, user: &User) -> usize {
        self.users.events(&user.id, None, 100).await.unwrap().len()
    }

    pub async fn outbox_stats(&self) -> OutboxStats {
        self.outbox.stats().await.unwrap()
    }

    /// Every claim made so far, by any process: each claim adds one to its notification's
    /// attempts.
    pub async fn claims(&self) -> u64 {
        let mut total = 0;
        for status in [
            OutboxStatus::Pending,
            OutboxStatus::Sent,
            OutboxStatus::Failed,
        ] {
            let entries = self.outbox.list(status, None, 100_000).await.unwrap();
            total += entries.iter().map(|e| u64::from(e.attempts)).sum::<u64>();
        }
        total
    }

    /// The attempts of each notification still owed.
    pub async fn pending_attempts(&self) -> Vec<u32> {
        let entries = self.outbox.list(OutboxStatus::Pending, None, 100_000);
        entries.await.unwrap().iter().map(|e| e.attempts).collect()
    }

    /// Waits until every claim made since `earlier` claims were counted has been reported
    /// finished (sent, rescheduled or given up) by one of `servers`, which must be all the
    /// processes running since then: no send is under way, so the sink holds all the mail
    /// there is until the next claim.
    pub async fn until_claims_reported(&self, servers: &[&Server], earlier: u64) {
        let mut seen = (0, 0);
        let settled = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                let claims = self.claims().await - earlier;
                let mut reported = 0;
                for server in servers {
                    reported += server.deliveries().await;
                }
                seen = (claims, reported);
                if claims == reported {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        assert!(settled.is_ok(), "(claims, reported) stuck at {seen:?}");
    }

    /// Asserts that `user` was deactivated exactly once: inactive, one audit row.
    pub async fn assert_deactivated_once(&self, user: &User) {
        assert!(
            !self.reload(user).await.is_active(),
            "{} is active",
            user.id
        );
        assert_eq!(self.audit_rows(user).await, 1, "audit rows of {}", user.id);
    }

    /// Asserts that nothing at all happened to `user`: active, no audit row.
    pub async fn assert_untouched(&self, user: &User) {
        assert!(
            self.reload(user).await.is_active(),
            "{} is inactive",
            user.id
        );
        assert_eq!(self.audit_rows(user).await, 0, "audit rows of {}", user.id);
    }
}

fn postgres_base_url() -> Option<String> {
    warden_postgres::testing::test_database_url()
}

/// `host:port` of a `postgres://user@host:port/db?...` URL, and the URL with that address
/// replaced by `via` (every query parameter, the schema's `options` included, kept).
pub fn reroute_postgres_url(url: &str, via: &str) -> (String, String) {
    let (scheme, rest) = url.split_once("://").expect("a postgres:// URL");
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((userinfo, host_port)) => (Some(userinfo), host_port),
        None => (None, authority),
    };
    let upstream = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    let userinfo = userinfo.map(|u| format!("{u}@")).unwrap_or_default();
    (upstream, format!("{scheme}://{userinfo}{via}{tail}"))
}

/// Settings of a server process beyond the world's database.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub smtp_url: String,
    /// Overrides the world's database URL (to go through a proxy).
    pub database_url: Option<String>,
    pub env: Vec<(&'static str, String)>,
}

impl ServerConfig {
    pub fn new(smtp_url: impl Into<String>) -> Self {
        ServerConfig {
            smtp_url: smtp_url.into(),
            database_url: None,
            env: Vec::new(),
        }
    }

    pub fn database_url(mut self, url: impl Into<String>) -> Self {
        self.database_url = Some(url.into());
        self
    }

    pub fn env(mut self, name: &'static str, value: impl ToString) -> Self {
        self.env.push((name, value.to_string()));
        self
    }
}

/// A `warden serve` child process. Dropping it SIGKILLs it.
pub struct Server {
    child: Child,
    pub address: String,
    pub port: u16,
    log: PathBuf,
}

impl Server {
    /// Starts `warden serve` on port 0 and waits until it answers HTTP on the port it reports
    /// having bound (its `warden listening` log line): no port is picked here and let go, so
    /// no other process can take it in between.
    pub async fn start(world: &World, config: &ServerConfig) -> Server {
        let log = world
            .dir
            .path()
            .join(format!("server-{}.log", uuid::Uuid::now_v7().simple()));
        let mut command = Command::new(env!("CARGO_BIN_EXE_warden"));
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env(
                "DATABASE_URL",
                config
                    .database_url
                    .as_deref()
                    .unwrap_or(&world.database_url),
            )
            .env("WARDEN_ADDR", "127.0.0.1:0")
            .env("WARDEN_DATA_DIR", world.dir.path())
            .env("JWT_SECRET", JWT_SECRET)
            .env("SMTP_URL", &config.smtp_url)
            .env("WARDEN_HTTP_WORKERS", "2")
            .env("WARDEN_OUTBOX_POLL_MS", "100")
            .env("WARDEN_MAIL_RETRY_BASE_MS", "200")
            .env("WARDEN_MAIL_RETRY_MAX_MS", "400")
            // A claim whose worker died (or never recorded the send) is retried after 2 s,
            // so a lost `mark_sent` shows up as a duplicate within a test's patience.
            .env("WARDEN_OUTBOX_LEASE_MS", "2000")
            .env("RUST_LOG", "info,actix_server=info")
            .env("LOG_FORMAT", "text")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap());
        for (name, value) in &config.env {
            command.env(name, value);
        }
        let mut server = Server {
            child: command.spawn().unwrap(),
            address: String::new(),
            port: 0,
            log,
        };
        if let Err(log) = server.wait_ready().await {
            panic!("warden did not start:\n{log}");
        }
        server
    }

    /// Waits until the process logs the port it bound and `GET /` there answers (an enveloped
    /// 404); the log if the process ended instead.
    async fn wait_ready(&mut self) -> Result<(), String> {
        let client = client();
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Err(format!("exited with {status}\n{}", self.log()));
            }
            if self.port == 0 {
                if let Some(port) = bound_port(&self.log()) {
                    self.port = port;
                    self.address = format!("http://127.0.0.1:{port}");
                }
            }
            let answer = if self.port == 0 {
                None
            } else {
                client.get(format!("{}/", self.address)).send().await.ok()
            };
            if let Some(response) = answer {
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap_or_default();
                assert_eq!(status, 404, "GET / answered {status}: {body}");
                assert_eq!(body["status_code"], 404, "{body}");
                return Ok(());
            }
            if started.elapsed() > STARTUP {
                return Err(format!("not answering after {STARTUP:?}\n{}", self.log()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Deliveries this process's worker has finished (sent, rescheduled or given up), from its
    /// `warden_outbox_deliveries_total` metric; a round counts once it is over.
    pub async fn deliveries(&self) -> u64 {
        let response = client().get(self.url("/metrics")).send().await.unwrap();
        let text = response.text().await.unwrap();
        text.lines()
            .filter(|line| line.starts_with("warden_outbox_deliveries_total{"))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the process logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Whether the process is still running (a crash would show here).
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    pub fn assert_running(&mut self) {
        assert!(
            self.is_running(),
            "warden exited unexpectedly:\n{}",
            self.log()
        );
    }

    /// SIGKILL (what `Child::kill` sends on Unix), and reap it.
    pub fn sigkill(&mut self) {
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        assert!(!status.success(), "{status}");
    }

    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed: {status}");
    }

    /// The exit status, if the process ends within `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn deactivate(&self, client: &reqwest::Client, token: &str, user: &User) -> Reply {
        deactivate(client, &self.url("/api/v1/users/deactivate"), token, user)
            .await
            .unwrap_or_else(|error| panic!("deactivate: {error:?}\n{}", self.log()))
    }

    /// Deactivates `user`, asserting a 200 that did not wait for mail (a send through a dead or
    /// frozen SMTP link would take the mailer's 10 s timeout).
    pub async fn deactivate_without_waiting_for_mail(
        &self,
        client: &reqwest::Client,
        token: &str,
        user: &User,
    ) {
        let started = std::time::Instant::now();
        self.deactivate(client, token, user)
            .await
            .assert(200, DEACTIVATED);
        let elapsed = started.elapsed();
        assert!(elapsed < std::time::Duration::from_secs(3), "{elapsed:?}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "--- log of warden on port {} ---\n{}",
                self.port,
                self.log()
            );
        }
    }
}

/// The port in `warden serve`'s `warden listening ... port=N` line (text log format).
fn bound_port(log: &str) -> Option<u16> {
    let line = log.lines().find(|line| line.contains("warden listening"))?;
    let (_, rest) = line.split_once(" port=")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// A client that neither reuses connections (each request its own, so idle keep-alive
/// connections do not hold a shutting-down server) nor waits forever.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// An HTTP answer that is a complete envelope: a JSON object with exactly `status`,
/// `status_code` (equal to the HTTP status), `message` and `data`.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Panics when the body is cut off or is not a complete envelope.
    pub async fn read(response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("response cut off after its head ({status}): {e:?}"));
        let body: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("not a JSON envelope ({status}): {text:?}"));
        let keys: Vec<&str> = body
            .as_object()
            .unwrap_or_else(|| panic!("not an envelope: {body}"))
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["data", "message", "status", "status_code"], "{body}");
        assert_eq!(body["status_code"], status, "{body}");
        let outcome = if status < 400 { "success" } else { "error" };
        assert_eq!(body["status"], outcome, "{body}");
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }

    pub fn assert(&self, status: u16, message: &str) {
        assert_eq!(
            (self.status, self.message()),
            (status, message),
            "{}",
            self.body
        );
        assert_eq!(self.body["data"], serde_json::json!({}), "{}", self.body);
    }
}

pub const DEACTIVATED: &str = "User account deactivated successfully";
pub const ALREADY_DEACTIVATED: &str = "User is already deactivated";
pub const UNAVAILABLE: &str = "Service temporarily unavailable";

/// `PATCH /api/v1/users/deactivate` for `user` at `url`. An error means no response came back
/// at all; a response always is a complete envelope.
pub async fn deactivate(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    user: &User,
) -> Result<Reply, reqwest::Error> {
    let body = serde_json::json!({"user_id": user.id.to_string(), "reason": "fault test"});
    let response = client
        .patch(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await?;
    Ok(Reply::read(response).await)
}

/// The SMTP sink's mail, counted by recipient.
pub fn mail_by_recipient(sink: &SmtpSink) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for mail in sink.messages() {
        for to in mail.to {
            *counts.entry(to).or_insert(0) += 1;
        }
    }
    counts
}

/// Waits until `users` have each received their email and nothing is owed, then until every
/// claim since `earlier` is over (see [`World::until_claims_reported`]), so that no duplicate
/// (a second worker, or a claim whose lease ran out) can still be on its way; then asserts
/// exactly one email per user and nothing else.
pub async fn assert_each_emailed_once(
    world: &World,
    sink: &SmtpSink,
    users: &[User],
    servers: &[&Server],
    earlier: u64,
) {
    let mails = sink
        .wait_for(users.len(), Duration::from_secs(20))
        .await
        .unwrap_or_else(|error| panic!("{error}; received: {:?}", mail_by_recipient(sink)));
    assert!(mails.len() >= users.len());
    eventually(Duration::from_secs(20), "nothing owed", || async {
        world.outbox_stats().await.pending == 0
    })
    .await;
    world.until_claims_reported(servers, earlier).await;
    let counts = mail_by_recipient(sink);
    let expected: HashMap<String, usize> = users.iter().map(|u| (u.email.to_string(), 1)).collect();
    assert_eq!(counts, expected, "emails per recipient");
    let ids: std::collections::HashSet<Option<String>> = sink
        .messages()
        .iter()
        .map(|m: &ReceivedMail| m.header("Message-ID"))
        .collect();
    assert_eq!(ids.len(), users.len(), "distinct Message-IDs");
}

/// Polls `check` every 50 ms until it holds or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
