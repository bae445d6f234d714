//! Opening SMTP connections ourselves, so that the socket has `TCP_NODELAY`.
//!
//! lettre 0.11.23 (the newest release) writes a message's body and its terminating `.` line in
//! two writes on a socket without `TCP_NODELAY`: Nagle's algorithm holds the terminator until
//! the server acknowledges the body, and the server delays that acknowledgement (40 ms on
//! Linux), so every message costs ~44 ms (docs/benchmarks.md). Here the TCP connection is made
//! with tokio, `TCP_NODELAY` is set, and lettre's `AsyncSmtpConnection::connect_with_transport`
//! speaks SMTP over it (EHLO, STARTTLS, AUTH as lettre's own transport would).
//!
//! `smtps://` (TLS from the first byte) goes through lettre's `connect_tokio1`, which cannot be
//! given a socket: those connections keep the stall.

use std::borrow::Cow;
use std::time::Duration;

use anyhow::Context as _;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use tokio::net::TcpStream;

/// How the connection is encrypted, as `SMTP_URL` says.
#[derive(Clone)]
enum Encryption {
    /// `smtp://host`: none.
    None,
    /// `smtp://host?tls=opportunistic`: STARTTLS when the server offers it.
    Opportunistic(TlsParameters),
    /// `smtp://host?tls=required`: STARTTLS or fail.
    Required(TlsParameters),
    /// `smtps://host`: TLS from the start.
    Wrapper(TlsParameters),
}

/// Where and how to connect: what lettre's `from_url` reads from an SMTP URL.
#[derive(Clone)]
pub(crate) struct Relay {
    host: String,
    port: u16,
    encryption: Encryption,
    hello: ClientId,
    credentials: Option<Credentials>,
}

impl Relay {
    /// Reads `smtp://[user:pass@]host[:port][/ehlo-name][?tls=required|opportunistic]` or
    /// `smtps://...`, with lettre's default ports (25, 587 with `tls`, 465 for `smtps`).
    ///
    /// # Errors
    /// When the URL is not one of those; the error never contains the URL.
    pub(crate) fn parse(smtp_url: &str) -> anyhow::Result<Self> {
        let url = url::Url::parse(smtp_url).context("not a URL")?;
        let host = url.host_str().context("no host")?.to_owned();
        let tls = url
            .query_pairs()
            .find(|(key, _)| key == "tls")
            .map(|(_, value)| value.into_owned());
        let params = || TlsParameters::new(host.clone()).context("TLS parameters");
        let (port, encryption) = match (url.scheme(), tls.as_deref()) {
            ("smtp", None) => (25, Encryption::None),
            ("smtp", Some("required")) => (587, Encryption::Required(params()?)),
            ("smtp", Some("opportunistic")) => (587, Encryption::Opportunistic(params()?)),
            ("smtps", _) => (465, Encryption::Wrapper(params()?)),
            _ => anyhow::bail!("unknown scheme or tls parameter"),
        };
        let hello = match url.path().trim_matches('/') {
            "" => ClientId::default(),
            name => ClientId::Domain(name.to_owned()),
        };
        let credentials = match url.password() {
            Some(password) => Some(Credentials::new(decode(url.username())?, decode(password)?)),
            None => None,
        };
        Ok(Self {
            port: url.port().unwrap_or(port),
            host,
            encryption,
            hello,
            credentials,
        })
    }

    /// `host:port`, for logs.
    pub(crate) fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// A connection ready for `MAIL FROM`: greeted, encrypted and authenticated as configured.
    /// The caller bounds the time it takes.
    ///
    /// # Errors
    /// lettre's, for the caller to classify.
    pub(crate) async fn connect(
        &self,
        timeout: Duration,
    ) -> Result<AsyncSmtpConnection, ConnectError> {
        let mut conn = match &self.encryption {
            Encryption::Wrapper(params) => {
                AsyncSmtpConnection::connect_tokio1(
                    (self.host.as_str(), self.port),
                    Some(timeout),
                    &self.hello,
                    Some(params.clone()),
                    None,
                )
                .await?
            }
            _ => {
                let socket = TcpStream::connect((self.host.as_str(), self.port)).await?;
                socket.set_nodelay(true)?;
                AsyncSmtpConnection::connect_with_transport(Box::new(socket), &self.hello).await?
            }
        };
        match &self.encryption {
            Encryption::Required(params) => conn.starttls(params.clone(), &self.hello).await?,
            Encryption::Opportunistic(params) if conn.can_starttls() => {
                conn.starttls(params.clone(), &self.hello).await?;
            }
            _ => {}
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(DEFAULT_MECHANISMS, credentials).await?;
        }
        Ok(conn)
    }
}

/// Why a connection could not be opened.
#[derive(Debug)]
pub(crate) enum ConnectError {
    Io(std::io::Error),
    Smtp(lettre::transport::smtp::Error),
}

impl From<std::io::Error> for ConnectError {
    fn from(error: std::io::Error) -> Self {
        Self::Io(error)
    }
}

impl From<lettre::transport::smtp::Error> for ConnectError {
    fn from(error: lettre::transport::smtp::Error) -> Self {
        Self::Smtp(error)
    }
}

fn decode(text: &str) -> anyhow::Result<String> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(Cow::into_owned)
        .context("credentials are not UTF-8")
}
