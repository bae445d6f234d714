//! [`WebhookSink`]: a real HTTP receiver for tests, on `127.0.0.1`, that records every request
//! it gets (headers and body) and answers with the statuses a test scripts (then 200). Plain
//! HTTP/1.1, one request per connection (it answers `Connection: close`).

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// One request as received.
#[derive(Debug, Clone)]
pub struct ReceivedWebhook {
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl ReceivedWebhook {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

#[derive(Debug, Default)]
struct Shared {
    received: Vec<ReceivedWebhook>,
    /// Statuses to answer, in order (with their `Retry-After`, if any); then 200.
    script: VecDeque<(u16, Option<String>)>,
    /// What to answer once the script is done (0: 200).
    default: u16,
}

/// The scripted "status" of a request that is never answered.
const HANG: u16 = 0;

/// A running receiver; stops when dropped.
#[derive(Debug)]
pub struct WebhookSink {
    port: u16,
    shared: Arc<Mutex<Shared>>,
    arrived: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl WebhookSink {
    /// Listens on a free port of 127.0.0.1.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start() -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let arrived = Arc::new(Notify::new());
        let (state, notify) = (shared.clone(), arrived.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (state, notify) = (state.clone(), notify.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, &state, &notify).await;
                });
            }
        });
        Ok(Self {
            port,
            shared,
            arrived,
            task,
        })
    }

    /// `http://127.0.0.1:PORT/hook`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// Answers the next requests with these statuses, in order (then 200).
    pub fn answer(&self, statuses: &[u16]) {
        self.lock()
            .script
            .extend(statuses.iter().map(|s| (*s, None)));
    }

    /// Answers with `status` once the scripted statuses are used up (instead of 200): 202
    /// for an RFC 8935 push receiver.
    pub fn answer_by_default(&self, status: u16) {
        self.lock().default = status;
    }

    /// Never answers the next request: it is recorded, and its connection is held open (as by
    /// a receiver that hangs), so the sender waits for its timeout.
    pub fn hang_next(&self) {
        self.lock().script.push_back((HANG, None));
    }

    /// Answers the next request with `status` and a `Retry-After` header.
    pub fn answer_retry_after(&self, status: u16, retry_after: &str) {
        self.lock()
            .script
            .push_back((status, Some(retry_after.to_owned())));
    }

    pub fn received(&self) -> Vec<ReceivedWebhook> {
        self.lock().received.clone()
    }

    /// Waits until at least `count` requests arrived.
    ///
    /// # Errors
    /// When they have not within `timeout`.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Result<(), String> {
        tokio::time::timeout(timeout, async {
            loop {
                let notified = self.arrived.notified();
                if self.lock().received.len() >= count {
                    return;
                }
                notified.await;
            }
        })
        .await
        .map_err(|_| {
            format!(
                "{} webhook requests within {timeout:?}, expected {count}",
                self.lock().received.len()
            )
        })
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(stream: TcpStream, shared: &Mutex<Shared>, arrived: &Notify) -> io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).await? == 0 {
            break;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let length = headers
        .get("content-length")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await?;
    let (status, retry_after) = {
        let mut shared = shared.lock().unwrap_or_else(PoisonError::into_inner);
        shared.received.push(ReceivedWebhook {
            method,
            path,
            headers,
            body,
        });
        let default = if shared.default == 0 {
            200
        } else {
            shared.default
        };
        shared.script.pop_front().unwrap_or((default, None))
    };
    arrived.notify_waiters();
    if status == HANG {
        return std::future::pending().await;
    }
    let extra = retry_after
        .map(|value| format!("retry-after: {value}\r\n"))
        .unwrap_or_default();
    let response = format!(
        "HTTP/1.1 {status} Scripted\r\ncontent-length: 0\r\nconnection: close\r\n{extra}\r\n"
    );
    let mut stream = reader.into_inner();
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
