//! Opening a pooled connection (plain or TLS) whose every round trip has a deadline.
//!
//! A partition that leaves a connection open but silent (no FIN, no RST, no answer) would
//! otherwise hold a query until TCP gives up, many minutes later. Each connection gets a
//! [`Watchdog`], armed by diesel's instrumentation when a query starts and disarmed when it
//! finishes. The task that drives the connection closes it when the watchdog expires: the waiting
//! query then fails at once (connection closed, hence `StoreError::Unavailable`), and the pool,
//! seeing the connection closed, discards it instead of handing it out again. The deadline costs
//! no round trip and no extra task: the driver looks at it whenever the query wakes it.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel::ConnectionError;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use tokio::time::{Instant, Sleep};

use crate::tls::MakeRustls;

/// Opens a connection: TCP (and TLS when `tls` is set), authentication, diesel-async's session
/// set-up, all within `timeout`; its queries then each get `timeout` too.
pub(crate) async fn establish(
    url: &str,
    tls: Option<MakeRustls>,
    timeout: Duration,
) -> Result<AsyncPgConnection, ConnectionError> {
    let watchdog = Arc::new(Watchdog::new(timeout));
    // Armed through the set-up: a server that accepts and then goes silent is let go too.
    watchdog.arm();
    let opening = async {
        let client = match tls {
            None => {
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .map_err(refused)?;
                tokio::spawn(drive(connection, watchdog.clone()));
                client
            }
            Some(tls) => {
                let (client, connection) =
                    tokio_postgres::connect(url, tls).await.map_err(refused)?;
                tokio::spawn(drive(connection, watchdog.clone()));
                client
            }
        };
        let mut conn = AsyncPgConnection::try_from(client).await?;
        // The server gives up on a statement a little before the watchdog would close the
        // connection: a statement that runs out of time (waiting for a row lock, say) is then
        // rolled back and answered as such, so the caller knows it did not apply. Only a
        // connection that goes silent is left to the watchdog, whose failure cannot tell.
        diesel_async::RunQueryDsl::execute(
            diesel::sql_query(format!(
                "SET statement_timeout = {}",
                statement_timeout(timeout).as_millis()
            )),
            &mut conn,
        )
        .await
        .map_err(|err| ConnectionError::BadConnection(err.to_string()))?;
        Ok::<_, ConnectionError>(conn)
    };
    let mut conn = tokio::time::timeout(timeout, opening).await.map_err(|_| {
        ConnectionError::BadConnection(format!(
            "PostgreSQL did not complete the connection within {} ms",
            timeout.as_millis()
        ))
    })??;
    watchdog.disarm();
    conn.set_instrumentation(Deadlines {
        watchdog,
        inner: diesel::connection::get_default_instrumentation(),
    });
    Ok(conn)
}

/// The server's own limit on one statement: `timeout` less a margin for the answer to come
/// back (a quarter of it, at most 250 ms).
pub(crate) fn statement_timeout(timeout: Duration) -> Duration {
    timeout - (timeout / 4).min(Duration::from_millis(250))
}

/// The whole cause chain on one line, e.g. "error performing TLS handshake: invalid peer
/// certificate: ...", so that a failed start says why in its single line.
fn refused(err: tokio_postgres::Error) -> ConnectionError {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    ConnectionError::BadConnection(text)
}

/// Drives a tokio-postgres connection until it ends, or closes it when its watchdog expires.
async fn drive<C>(connection: C, watchdog: Arc<Watchdog>)
where
    C: Future<Output = Result<(), tokio_postgres::Error>>,
{
    let expiry = Expiry {
        watchdog: watchdog.clone(),
        sleep: Box::pin(tokio::time::sleep_until(Instant::now())),
        sleeping: false,
    };
    tokio::select! {
        ended = connection => {
            if let Err(error) = ended {
                tracing::debug!(%error, "PostgreSQL connection ended");
            }
        }
        () = expiry => {
            tracing::warn!(
                timeout_ms = watchdog.timeout.as_millis(),
                "PostgreSQL did not answer in time; closing the connection"
            );
        }
    }
    // Dropping the connection closes its socket: the waiting query fails now.
}

/// When the query in flight on one connection must have been answered.
#[derive(Debug)]
struct Watchdog {
    timeout: Duration,
    origin: Instant,
    /// Nanoseconds after `origin`, plus one; zero: no query in flight.
    deadline: AtomicU64,
}

impl Watchdog {
    fn new(timeout: Duration) -> Watchdog {
        Watchdog {
            timeout,
            origin: Instant::now(),
            deadline: AtomicU64::new(0),
        }
    }

    fn arm(&self) {
        let at = (Instant::now() + self.timeout).saturating_duration_since(self.origin);
        let nanos = u64::try_from(at.as_nanos()).unwrap_or(u64::MAX - 1);
        self.deadline.store(nanos + 1, Ordering::Release);
    }

    fn disarm(&self) {
        self.deadline.store(0, Ordering::Release);
    }

    fn deadline(&self) -> Option<Instant> {
        match self.deadline.load(Ordering::Acquire) {
            0 => None,
            nanos => Some(self.origin + Duration::from_nanos(nanos - 1)),
        }
    }
}

/// Arms the watchdog when a query starts, disarms it when the query finishes. A query abandoned
/// by its caller (its future dropped) leaves it armed: that connection is closed at the deadline
/// unless another query starts first, since its answer may never come. Events also go on to the
/// process-wide default instrumentation, if one is set (`set_default_instrumentation`).
struct Deadlines {
    watchdog: Arc<Watchdog>,
    inner: Option<Box<dyn Instrumentation>>,
}

impl Instrumentation for Deadlines {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { .. } => self.watchdog.arm(),
            InstrumentationEvent::FinishQuery { .. } => self.watchdog.disarm(),
            _ => {}
        }
        if let Some(inner) = &mut self.inner {
            inner.on_connection_event(event);
        }
    }
}

/// Resolves once a query has been in flight past its deadline. Polled with the connection (one
/// task): a query is armed before its request is sent, and sending wakes that task, so a new
/// deadline is always seen. The timer is set at most once per deadline that could expire: when
/// it fires early (the query finished and a later one started), it is set again.
struct Expiry {
    watchdog: Arc<Watchdog>,
    sleep: Pin<Box<Sleep>>,
    sleeping: bool,
}

impl Future for Expiry {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            let Some(deadline) = self.watchdog.deadline() else {
                return Poll::Pending;
            };
            if !self.sleeping {
                self.sleep.as_mut().reset(deadline);
                self.sleeping = true;
            }
            if self.sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleeping = false;
            match self.watchdog.deadline() {
                Some(deadline) if deadline <= Instant::now() => return Poll::Ready(()),
                // Disarmed, or re-armed later: look again.
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_deadline_exists_only_while_a_query_is_in_flight() {
        let watchdog = Watchdog::new(Duration::from_secs(60));
        assert_eq!(watchdog.deadline(), None);
        let before = Instant::now();
        watchdog.arm();
        let deadline = watchdog.deadline().unwrap();
        assert!(deadline >= before + Duration::from_secs(60));
        assert!(deadline <= Instant::now() + Duration::from_secs(60));
        watchdog.disarm();
        assert_eq!(watchdog.deadline(), None);
    }
}
