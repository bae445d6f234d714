use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::runtime::Handle;
use warden_domain::ports::{MailError, Mailer};
use warden_domain::Email;

use crate::message;

/// Delivers mail through an SMTP relay, reusing pooled connections.
#[derive(Clone)]
pub struct SmtpMailer {
    pool: Arc<Pool>,
    from: Mailbox,
    /// The relay URL with any credentials masked, for `Debug` and logs.
    server: String,
}

impl SmtpMailer {
    /// The default time allowed for connecting and for each SMTP reply.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// A mailer for the relay at `smtp_url` (`smtp://host:port`, `smtps://user:pass@host`,
    /// `smtp://host?tls=required`, ...), sending as `from` (`Name <address>`). Nothing is
    /// connected until the first send.
    ///
    /// Must be called within a Tokio runtime (lettre's connection pool spawns a task on it).
    ///
    /// # Errors
    /// When the URL or the sender mailbox is invalid, or there is no Tokio runtime. The error
    /// never contains the URL's credentials.
    pub fn from_url(smtp_url: &str, from: &str) -> anyhow::Result<Self> {
        Self::from_url_with_timeout(smtp_url, from, Self::DEFAULT_TIMEOUT)
    }

    /// [`SmtpMailer::from_url`] with another timeout.
    ///
    /// # Errors
    /// As [`SmtpMailer::from_url`].
    pub fn from_url_with_timeout(
        smtp_url: &str,
        from: &str,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let runtime = Handle::try_current()
            .context("an SmtpMailer must be created within a Tokio runtime")?;
        let server = redact_url(smtp_url);
        let from = message::parse_sender(from)?;
        let _in_runtime = runtime.enter();
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .with_context(|| format!("invalid SMTP URL {server}"))?
            .timeout(Some(timeout))
            .build();
        Ok(Self {
            pool: Arc::new(Pool {
                transport: Some(transport),
                runtime,
            }),
            from,
            server,
        })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        let message = message::build(email, &self.from)?;
        let Some(transport) = &self.pool.transport else {
            return Err(MailError::Transient(anyhow::anyhow!("transport dropped")));
        };
        match transport.send(message).await {
            Ok(_) => Ok(()),
            Err(err) if err.is_permanent() => Err(MailError::Permanent(err.into())),
            Err(err) => Err(MailError::Transient(err.into())),
        }
    }
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("server", &self.server)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

/// Lettre's pooled transport spawns a task when it is built and another when it is dropped,
/// which panics outside a Tokio runtime. This drops it inside the runtime it was built in, so
/// the last clone of a mailer can go away anywhere (a spawn on a runtime that has shut down is
/// simply discarded).
struct Pool {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    runtime: Handle,
}

impl Drop for Pool {
    fn drop(&mut self) {
        let _in_runtime = self.runtime.enter();
        drop(self.transport.take());
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
