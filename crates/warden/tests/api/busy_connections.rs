//! Busy keep-alive connections: one address holds at most `WARDEN_MAX_CONNECTIONS_PER_IP`, and
//! 2,000 busy connections from 2,000 addresses of this host (127.0.0.0/8 is all loopback) leave
//! room for fresh clients, the liveness probe included.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::support::{spawn_app_tuned, TestApp};

/// A safety net so a broken server fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(10);
const PROBE: &[u8] = b"GET /health/live HTTP/1.1\r\nHost: warden\r\n\r\n";

fn server(app: &TestApp) -> SocketAddr {
    app.address.trim_start_matches("http://").parse().unwrap()
}

/// A connection to the app from the loopback address `source`.
async fn connect_from(app: &TestApp, source: Ipv4Addr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((source, 0))).unwrap();
    tokio::time::timeout(PATIENCE, socket.connect(server(app)))
        .await
        .expect("connect timed out")
        .unwrap()
}

/// Sends the liveness probe and reads one answer: its head (lower-cased) and body.
async fn probe(stream: &mut TcpStream) -> (String, String) {
    stream.write_all(PROBE).await.unwrap();
    tokio::time::timeout(PATIENCE, read_answer(stream))
        .await
        .expect("no answer in time")
}

async fn read_answer(stream: &mut TcpStream) -> (String, String) {
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read = stream.read(&mut buffer).await.unwrap();
        assert!(read > 0, "closed before a whole answer: {bytes:?}");
        bytes.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            continue;
        };
        let head = head.to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length: "))
            .map_or(0, |n| n.trim().parse().unwrap());
        if body.len() >= length {
            return (head, body.to_owned());
        }
    }
}

/// Whether the server closes `stream` (without a word) within [`PATIENCE`].
async fn closed_unanswered(stream: &mut TcpStream) -> bool {
    let mut rest = Vec::new();
    match tokio::time::timeout(PATIENCE, stream.read_to_end(&mut rest)).await {
        Ok(Ok(_)) => rest.is_empty(),
        Ok(Err(_)) => true, // reset
        Err(_) => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_holds_at_most_its_share_and_gets_it_back() {
    // One HTTP worker, so connections are counted in the order they were made.
    let (app, _) = spawn_app_tuned(|c| {
        c.max_connections_per_ip = 4;
        c.http_workers = 1;
    })
    .await;
    let greedy = Ipv4Addr::new(127, 0, 0, 2);
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut stream = connect_from(&app, greedy).await;
        assert!(probe(&mut stream).await.0.starts_with("http/1.1 200"));
        held.push(stream);
    }
    // Four more are each told once, in an envelope, and closed.
    let mut over = Vec::new();
    for _ in 0..4 {
        over.push(connect_from(&app, greedy).await);
    }
    // Past twice the share a connection is closed at once, unread.
    let mut flood = connect_from(&app, greedy).await;
    assert!(closed_unanswered(&mut flood).await);
    for mut stream in over {
        let (head, body) = probe(&mut stream).await;
        assert!(head.starts_with("http/1.1 503"), "{head}");
        assert!(head.contains("\r\nconnection: close"), "{head}");
        assert!(head.contains("\r\nretry-after: 1"), "{head}");
        assert!(head.contains("\r\nx-request-id: "), "{head}");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "status": "error", "status_code": 503,
                "message": "Too many connections from your address", "data": {}
            })
        );
        assert!(closed_unanswered(&mut stream).await);
    }
    // Under /scim/v2 the refusal is a SCIM Error.
    let mut scim = connect_from(&app, greedy).await;
    scim.write_all(b"GET /scim/v2/Users HTTP/1.1\r\nHost: warden\r\n\r\n")
        .await
        .unwrap();
    let (head, body) = tokio::time::timeout(PATIENCE, read_answer(&mut scim))
        .await
        .unwrap();
    assert!(head.starts_with("http/1.1 503"), "{head}");
    assert!(
        head.contains("\r\ncontent-type: application/scim+json"),
        "{head}"
    );
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], "503", "{body}");
    assert_eq!(body["detail"], "Too many connections from your address");
    // Another address is served, and the held connections still are.
    let mut other = connect_from(&app, Ipv4Addr::new(127, 0, 0, 3)).await;
    assert!(probe(&mut other).await.0.starts_with("http/1.1 200"));
    for stream in &mut held {
        assert!(probe(stream).await.0.starts_with("http/1.1 200"));
    }
    // A closed connection gives its slot back.
    drop(held.pop());
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mut again = connect_from(&app, greedy).await;
        if probe(&mut again).await.0.starts_with("http/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "the slot never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The address of busy connection `n`: 127.1.0.1, 127.1.0.2, ... (one connection each, so no
/// per-address cap applies).
fn busy_address(n: usize) -> Ipv4Addr {
    let n = u32::try_from(n).unwrap() + 1;
    Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 1, 0, 0)) + n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_clients_are_served_while_2000_busy_keep_alive_connections_are_held() {
    const BUSY: usize = 2000;
    // The default ceiling and per-address cap, on one HTTP worker (the default on 2 cores; the
    // harness runs two), whose budget all 2,000 must fit.
    let (app, _) = spawn_app_tuned(|c| c.http_workers = 1).await;
    // Client and server share this process: three descriptors per busy connection.
    let open_files = warden::run::open_files::raise_limit().unwrap_or(u64::MAX);
    assert!(
        open_files >= 3 * BUSY as u64 + 1000,
        "this test needs an open-file hard limit (ulimit -Hn) of at least {}, not {open_files}",
        3 * BUSY + 1000
    );
    let app = Arc::new(app);
    // Connections answered at least once.
    let held = Arc::new(AtomicUsize::new(0));
    let mut busy = tokio::task::JoinSet::new();
    for n in 0..BUSY {
        let (app, held) = (app.clone(), held.clone());
        busy.spawn(async move {
            // Spread the connects so the accept queue does not overflow.
            tokio::time::sleep(Duration::from_micros(500 * n as u64)).await;
            let mut stream = connect_from(&app, busy_address(n)).await;
            for round in 0.. {
                let (head, _) = probe(&mut stream).await;
                assert!(head.starts_with("http/1.1 200"), "{head}");
                if round == 0 {
                    held.fetch_add(1, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(1500)).await;
            }
        });
    }
    // Every busy connection has been answered at least once: all 2,000 are held.
    let deadline = Instant::now() + Duration::from_secs(30);
    while held.load(Ordering::Relaxed) < BUSY {
        assert!(
            Instant::now() < deadline,
            "only {} of {BUSY} busy connections were answered",
            held.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Fresh clients (new connections, as a liveness probe makes) are answered promptly.
    for attempt in 0..5 {
        let started = Instant::now();
        let fresh = async {
            let mut stream = TcpStream::connect(server(&app)).await.unwrap();
            probe(&mut stream).await
        };
        let (head, _) = tokio::time::timeout(Duration::from_secs(3), fresh)
            .await
            .unwrap_or_else(|_| panic!("fresh client {attempt} timed out"));
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(started.elapsed() < Duration::from_secs(3));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // A busy task only ends by failing.
    if let Some(ended) = busy.try_join_next() {
        ended.unwrap();
        panic!("a busy connection ended");
    }
    busy.abort_all();
}
