//! A TCP proxy that can fail the network between Warden and a dependency:
//!
//! - [`Mode::Forward`]: bytes flow both ways;
//! - [`Mode::Freeze`]: a partition. Connections stay open and new ones are accepted, but not a
//!   byte moves in either direction (held bytes flow again when forwarding resumes);
//! - [`Mode::Cut`]: every current connection is closed and the listening socket too, so new
//!   connections are refused (until the mode changes; the proxy listens on the same port again).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Forward,
    Freeze,
    Cut,
}

#[derive(Debug)]
pub struct TcpProxy {
    addr: SocketAddr,
    mode: watch::Sender<Mode>,
    accepted: Arc<AtomicUsize>,
    listener: JoinHandle<()>,
}

impl TcpProxy {
    /// Listens on a free port of 127.0.0.1, forwarding to `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> TcpProxy {
        let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        let addr = listener.local_addr().unwrap();
        let (mode, rx) = watch::channel(Mode::Forward);
        let accepted = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(listen(
            listener,
            addr,
            upstream.to_owned(),
            rx,
            accepted.clone(),
        ));
        TcpProxy {
            addr,
            mode,
            accepted,
            listener: task,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Waits until more than `count` connections have been accepted.
    pub async fn wait_accepted_more_than(&self, count: usize, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.accepted() <= count {
            assert!(
                tokio::time::Instant::now() < deadline,
                "nobody connected through the proxy to {} within {timeout:?}",
                self.addr
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.mode.send_replace(Mode::Cut);
        self.listener.abort();
    }
}

fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(128)
}

async fn listen(
    listener: TcpListener,
    addr: SocketAddr,
    upstream: String,
    mut mode: watch::Receiver<Mode>,
    accepted: Arc<AtomicUsize>,
) {
    let mut listener = Some(listener);
    loop {
        let Some(current) = listener.take() else {
            // Cut: refuse connections (no listening socket) until the mode changes.
            if !until(&mut mode, |m| m != Mode::Cut).await {
                return;
            }
            let mut tries = 0;
            listener = loop {
                match bind(addr) {
                    Ok(listener) => break Some(listener),
                    Err(error) => {
                        tries += 1;
                        assert!(tries < 100, "cannot listen on {addr} again: {error}");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            };
            continue;
        };
        let mut cut = mode.clone();
        loop {
            tokio::select! {
                accepted_conn = current.accept() => {
                    if let Ok((stream, _)) = accepted_conn {
                        accepted.fetch_add(1, Ordering::SeqCst);
                        tokio::spawn(relay(stream, upstream.clone(), mode.clone()));
                    }
                }
                alive = until(&mut cut, |m| m == Mode::Cut) => {
                    if !alive {
                        return;
                    }
                    break;
                }
            }
        }
        drop(current);
    }
}

/// Waits until `wanted(mode)`; false when the proxy is gone.
async fn until(mode: &mut watch::Receiver<Mode>, wanted: impl Fn(Mode) -> bool) -> bool {
    loop {
        if wanted(*mode.borrow_and_update()) {
            return true;
        }
        if mode.changed().await.is_err() {
            return false;
        }
    }
}

/// Waits until bytes may flow; false when the connection must close (cut, or proxy gone).
async fn may_flow(mode: &mut watch::Receiver<Mode>) -> bool {
    until(mode, |m| m != Mode::Freeze).await && *mode.borrow() == Mode::Forward
}

async fn relay(client: TcpStream, upstream: String, mut mode: watch::Receiver<Mode>) {
    let mut cut = mode.clone();
    let work = async move {
        if !may_flow(&mut mode).await {
            return;
        }
        let Ok(server) = TcpStream::connect(&upstream).await else {
            return;
        };
        let (client_read, client_write) = client.into_split();
        let (server_read, server_write) = server.into_split();
        tokio::select! {
            () = pump(client_read, server_write, mode.clone()) => {}
            () = pump(server_read, client_write, mode.clone()) => {}
        }
    };
    tokio::select! {
        () = work => {}
        _ = until(&mut cut, |m| m == Mode::Cut) => {}
    }
    // Dropping both streams closes both connections.
}

async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut mode: watch::Receiver<Mode>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if !may_flow(&mut mode).await {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
