use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::transport::smtp::client::AsyncSmtpConnection;
use warden_domain::ports::{MailError, Mailer};
use warden_domain::Email;

use crate::message;
use crate::smtp_connect::{ConnectError, Relay};

/// Idle connections kept for reuse; the worker's concurrency rarely needs more.
const MAX_IDLE: usize = 16;
/// An idle connection older than this is checked with `NOOP` before it is reused.
const CHECK_AFTER: Duration = Duration::from_secs(1);
/// An idle connection older than this is closed rather than reused (servers drop idle clients).
const MAX_IDLE_TIME: Duration = Duration::from_secs(50);

/// Delivers mail through an SMTP relay over pooled connections opened with `TCP_NODELAY`
/// (see `smtp_connect`), any number of sends at once.
#[derive(Clone)]
pub struct SmtpMailer {
    relay: Arc<Relay>,
    idle: Arc<Mutex<Vec<(AsyncSmtpConnection, Instant)>>>,
    timeout: Duration,
    from: Mailbox,
    /// The relay URL with any credentials masked, for `Debug` and logs.
    server: String,
}

impl SmtpMailer {
    /// The default time allowed for one whole send (connecting included).
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// A mailer for the relay at `smtp_url` (`smtp://host:port`, `smtps://user:pass@host`,
    /// `smtp://host?tls=required`, ...), sending as `from` (`Name <address>`). Nothing is
    /// connected until the first send.
    ///
    /// # Errors
    /// When the URL or the sender mailbox is invalid. The error never contains the URL's
    /// credentials.
    pub fn from_url(smtp_url: &str, from: &str) -> anyhow::Result<Self> {
        Self::from_url_with_timeout(smtp_url, from, Self::DEFAULT_TIMEOUT)
    }

    /// [`SmtpMailer::from_url`] where one send may take at most `timeout`.
    ///
    /// # Errors
    /// As [`SmtpMailer::from_url`].
    pub fn from_url_with_timeout(
        smtp_url: &str,
        from: &str,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let server = redact_url(smtp_url);
        let from = message::parse_sender(from)?;
        let relay = Relay::parse(smtp_url).with_context(|| format!("invalid SMTP URL {server}"))?;
        Ok(Self {
            relay: Arc::new(relay),
            idle: Arc::default(),
            timeout,
            from,
            server,
        })
    }

    /// A pooled connection that still answers, or a new one.
    async fn checkout(&self) -> Result<AsyncSmtpConnection, MailError> {
        while let Some((mut conn, since)) = self.take_idle() {
            let idle = since.elapsed();
            if idle < CHECK_AFTER || (idle < MAX_IDLE_TIME && conn.test_connected().await) {
                return Ok(conn);
            }
            conn.abort().await;
        }
        self.relay
            .connect(self.timeout)
            .await
            .map_err(|error| match error {
                ConnectError::Smtp(error) => classify(error),
                ConnectError::Io(error) => MailError::transient(
                    anyhow::Error::new(error)
                        .context(format!("cannot connect to {}", self.relay.address())),
                ),
            })
    }

    fn take_idle(&self) -> Option<(AsyncSmtpConnection, Instant)> {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    }

    fn checkin(&self, conn: AsyncSmtpConnection) {
        if conn.has_broken() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE {
            idle.push((conn, Instant::now()));
        }
    }

    async fn deliver(
        &self,
        envelope: &lettre::address::Envelope,
        body: &[u8],
    ) -> Result<(), MailError> {
        let mut conn = self.checkout().await?;
        match conn.send(envelope, body).await {
            Ok(_) => {
                self.checkin(conn);
                Ok(())
            }
            Err(error) => Err(classify(error)),
        }
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        let message = message::build(email, &self.from)?;
        let body = message.formatted();
        match tokio::time::timeout(self.timeout, self.deliver(message.envelope(), &body)).await {
            Ok(result) => result,
            Err(_) => Err(MailError::transient(anyhow::anyhow!(
                "no answer from {} within {:?}",
                self.relay.address(),
                self.timeout
            ))),
        }
    }
}

/// A 5xx reply is permanent; everything else (4xx, network, TLS) may pass.
fn classify(error: lettre::transport::smtp::Error) -> MailError {
    if error.is_permanent() {
        MailError::permanent(error)
    } else {
        MailError::transient(error)
    }
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("server", &self.server)
            .field("from", &self.from.to_string())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// `scheme://user:password@host:port/...` becomes `scheme://***@host:port/...`.
fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}{tail}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn masks_credentials_only() {
        assert_eq!(
            redact_url("smtps://user:p%40ss@mail.example.com:465/ehlo?tls=required"),
            "smtps://***@mail.example.com:465/ehlo?tls=required"
        );
        assert_eq!(redact_url("smtp://localhost:25"), "smtp://localhost:25");
        assert_eq!(redact_url("a:b@c"), "://***@c");
    }
}
