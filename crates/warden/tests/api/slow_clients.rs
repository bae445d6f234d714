//! Slow clients: a body that does not arrive in time gets 408 and its connection closed, and
//! hundreds of connections holding bodies do not stop the service answering.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{spawn_app_tuned, TestApp};

/// A safety net so a broken server fails the test instead of hanging it; not a speed claim.
const PATIENCE: Duration = Duration::from_secs(60);

fn host(app: &TestApp) -> String {
    app.address.trim_start_matches("http://").to_owned()
}

/// Sends the headers of an admin's deactivation declaring a 100-byte body, and `partial` of it.
async fn hold_body(app: &TestApp, token: &str, partial: &[u8]) -> TcpStream {
    hold(app, token, "Content-Length: 100", partial).await
}

/// The same with a chunked body, of which one chunk holding `partial` is sent.
async fn hold_chunked_body(app: &TestApp, token: &str, partial: &[u8]) -> TcpStream {
    let mut chunk = format!("{:x}\r\n", partial.len()).into_bytes();
    chunk.extend_from_slice(partial);
    chunk.extend_from_slice(b"\r\n");
    hold(app, token, "Transfer-Encoding: chunked", &chunk).await
}

async fn hold(app: &TestApp, token: &str, framing: &str, partial: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(host(app)).await.unwrap();
    let head = format!(
        "PATCH /api/v1/users/deactivate HTTP/1.1\r\nHost: warden\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         {framing}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(partial).await.unwrap();
    stream.flush().await.unwrap();
    stream
}

/// Everything the server sends until it closes the connection.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut reply = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut reply))
        .await
        .expect("the server neither answered nor closed")
        .unwrap();
    String::from_utf8_lossy(&reply).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_held_past_the_timeout_gets_an_enveloped_408_and_the_connection_closes() {
    let (app, _) = spawn_app_tuned(|c| c.body_timeout = Duration::from_millis(300)).await;
    let (_, token) = app.admin().await;
    let sized = hold_body(&app, &token, br#"{"user_id": "#).await;
    // actix itself would keep reading a chunked body however long it takes, 408 or not.
    let chunked = hold_chunked_body(&app, &token, br#"{"user_id": "#).await;
    for mut stream in [sized, chunked] {
        assert_closed_with_408(&mut stream).await;
    }
}

async fn assert_closed_with_408(stream: &mut TcpStream) {
    // read_to_end returns only once the server has closed its side.
    let reply = read_to_close(stream).await;
    let (head, body) = reply.split_once("\r\n\r\n").expect(&reply);
    assert!(head.starts_with("HTTP/1.1 408"), "{reply}");
    let head = head.to_ascii_lowercase();
    assert!(head.contains("\r\nconnection: close"), "{reply}");
    assert!(head.contains("\r\nx-request-id: "), "{reply}");
    let body: serde_json::Value = serde_json::from_str(body).expect(body);
    assert_eq!(
        body,
        serde_json::json!({
            "status": "error", "status_code": 408, "message": "Request timeout", "data": {}
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_held_bodies_do_not_stop_the_liveness_probe_and_all_time_out() {
    let body_timeout = Duration::from_secs(20);
    // All 300 come from 127.0.0.1: past the per-address cap they would be refused at once
    // (tests/api/busy_connections.rs); here they are to be held.
    let (app, _) = spawn_app_tuned(|c| {
        c.body_timeout = body_timeout;
        c.max_connections_per_ip = 1000;
    })
    .await;
    let (_, token) = app.admin().await;
    let mut held = Vec::new();
    for _ in 0..300 {
        held.push(hold_body(&app, &token, b"{").await);
    }
    // Every held request has been authenticated and waits for its body. A probe on the same
    // listener answers, and before the body timeout could have released any of them.
    let live = tokio::time::timeout(
        body_timeout / 2,
        app.client.get(app.url("/health/live")).send(),
    )
    .await
    .expect("/health/live did not answer while bodies were held")
    .unwrap();
    assert_eq!(live.status(), 200);
    for stream in &mut held {
        let mut byte = [0u8; 1];
        match stream.try_read(&mut byte) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("a held request was answered or closed early: {other:?}"),
        }
    }
    // Then every one of them gets its 408 and its connection closed: nothing stays held.
    let replies = futures_util::future::join_all(held.iter_mut().map(read_to_close)).await;
    for reply in replies {
        assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_held_past_the_header_timeout_get_a_bare_408_and_the_connection_closes() {
    let (app, _) = spawn_app_tuned(|c| c.header_timeout = Duration::from_millis(300)).await;
    let mut stream = TcpStream::connect(host(&app)).await.unwrap();
    stream
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: warden\r\nX-Slow: ")
        .await
        .unwrap();
    let reply = read_to_close(&mut stream).await;
    // actix answers this itself, before any Warden code runs (documented in docs/api.md).
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_the_route_does_not_read_cannot_hold_the_connection() {
    let (app, _) = spawn_app_tuned(|_| {}).await;
    let (_, token) = app.admin().await;
    // Routes that answer without reading the body: one without a body, and a 401 before it.
    for (path, auth) in [
        ("GET /health/live", String::new()),
        (
            "PATCH /api/v1/users/deactivate",
            "Authorization: Bearer forged\r\n".into(),
        ),
        (
            "GET /api/v1/users/me",
            format!("Authorization: Bearer {token}\r\n"),
        ),
    ] {
        let mut stream = TcpStream::connect(host(&app)).await.unwrap();
        let head = format!(
            "{path} HTTP/1.1\r\nHost: warden\r\n{auth}Transfer-Encoding: chunked\r\n\r\n1\r\n{{\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        // The client never finishes the body; the server answers and closes all the same.
        let reply = read_to_close(&mut stream).await;
        let status = if path.contains("deactivate") {
            "401"
        } else {
            "200"
        };
        assert!(
            reply.starts_with(&format!("HTTP/1.1 {status}")),
            "{path}: {reply}"
        );
    }
    // A chunked body that the handler reads to its end keeps the connection alive.
    let mut stream = TcpStream::connect(host(&app)).await.unwrap();
    let body = format!(r#"{{"user_id": "{}"}}"#, uuid::Uuid::now_v7());
    let first = format!(
        "PATCH /api/v1/users/deactivate HTTP/1.1\r\nHost: warden\r\n\
         Authorization: Bearer {token}\r\nTransfer-Encoding: chunked\r\n\r\n\
         {:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    stream.write_all(first.as_bytes()).await.unwrap();
    let mut reply = Vec::new();
    while !String::from_utf8_lossy(&reply).ends_with("\"data\":{}}") {
        let mut buffer = [0u8; 1024];
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut buffer))
            .await
            .unwrap()
            .unwrap();
        assert!(
            n > 0,
            "closed after a read body: {:?}",
            String::from_utf8_lossy(&reply)
        );
        reply.extend_from_slice(&buffer[..n]);
    }
    assert!(String::from_utf8_lossy(&reply).starts_with("HTTP/1.1 404"));
    let second = "GET /health/live HTTP/1.1\r\nHost: warden\r\nConnection: close\r\n\r\n";
    stream.write_all(second.as_bytes()).await.unwrap();
    let reply = read_to_close(&mut stream).await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
}
