//! TLS to PostgreSQL through rustls (no libpq, no OpenSSL), configured by libpq's `sslmode` and
//! `sslrootcert` parameters of `DATABASE_URL`.
//!
//! tokio-postgres parses `sslmode` only as `disable`, `prefer` or `require` and verifies nothing
//! itself, so Warden takes `sslmode` and `sslrootcert` out of the URL and sets up rustls:
//!
//! | `sslmode` | Warden |
//! |---|---|
//! | absent | no TLS (as before TLS support; say `sslmode=require` or stronger to encrypt) |
//! | `disable` | no TLS |
//! | `prefer` | TLS if the server offers it, certificate not verified (as libpq) |
//! | `require` | TLS or no connection, certificate not verified (as libpq), unless `sslrootcert` is given: then as `verify-ca` (as libpq) |
//! | `verify-ca` | TLS; the certificate chains to `sslrootcert` (or, without it, the webpki roots); any host name |
//! | `verify-full` | as `verify-ca`, and the certificate names the host connected to |

mod stream;
mod verify;

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

pub(crate) use stream::MakeRustls;
use verify::{AnyCertificate, AnyHostName};

/// How the server's certificate is checked, from libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> anyhow::Result<SslMode> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            // `allow` (plain text first) has no equivalent in tokio-postgres.
            other => bail!(
                "DATABASE_URL: sslmode={other} is not supported (use disable, prefer, require, \
                 verify-ca or verify-full)"
            ),
        })
    }

    /// What tokio-postgres is told: it only negotiates; verification is done here.
    fn for_tokio_postgres(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => "require",
        }
    }
}

/// A `DATABASE_URL` split into what tokio-postgres reads and the TLS set-up Warden does.
#[derive(Debug)]
pub(crate) struct Target {
    /// The URL without `sslrootcert`, with an `sslmode` tokio-postgres understands.
    pub(crate) url: String,
    /// `None`: plain TCP (no `sslmode`, or `sslmode=disable`).
    pub(crate) tls: Option<MakeRustls>,
    /// For `Debug` and logs: `none`, or the effective `sslmode`.
    pub(crate) mode: &'static str,
}

/// Reads `sslmode` and `sslrootcert` off a `postgres://` URL and builds the rustls client.
///
/// # Errors
/// An unsupported `sslmode`, or an `sslrootcert` file that cannot be read or holds no
/// certificate.
pub(crate) fn configure(url: &str) -> anyhow::Result<Target> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, query),
        None => (url, ""),
    };
    let mut kept = Vec::new();
    let (mut mode, mut root_cert) = (None, None);
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => mode = Some(SslMode::parse(&percent_decode(value))?),
            "sslrootcert" => root_cert = Some(percent_decode(value)),
            _ => kept.push(pair),
        }
    }
    let mut mode = match mode {
        None => {
            return Ok(Target {
                url: url.to_owned(),
                tls: None,
                mode: "none",
            })
        }
        Some(mode) => mode,
    };
    // libpq: "if a root CA file exists, sslmode=require behaves like verify-ca".
    if mode == SslMode::Require && root_cert.is_some() {
        mode = SslMode::VerifyCa;
    }
    let sslmode = format!("sslmode={}", mode.for_tokio_postgres());
    kept.push(&sslmode);
    let url = format!("{base}?{}", kept.join("&"));
    let (tls, name) = match mode {
        SslMode::Disable => (None, "disable"),
        SslMode::Prefer => (Some(client(Verify::Nothing)?), "prefer"),
        SslMode::Require => (Some(client(Verify::Nothing)?), "require"),
        SslMode::VerifyCa => (
            Some(client(Verify::Chain(roots(root_cert.as_deref())?))?),
            "verify-ca",
        ),
        SslMode::VerifyFull => (
            Some(client(Verify::ChainAndName(roots(root_cert.as_deref())?))?),
            "verify-full",
        ),
    };
    Ok(Target {
        url,
        tls,
        mode: name,
    })
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The trust anchors: the certificates of the `sslrootcert` PEM file, else the webpki roots.
fn roots(root_cert: Option<&str>) -> anyhow::Result<RootCertStore> {
    let Some(path) = root_cert else {
        return Ok(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        });
    };
    let certs = CertificateDer::pem_file_iter(Path::new(path))
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("DATABASE_URL: cannot read sslrootcert={path}"))?;
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(certs);
    if added == 0 {
        bail!("DATABASE_URL: sslrootcert={path} holds no usable certificate");
    }
    Ok(roots)
}

enum Verify {
    Nothing,
    Chain(RootCertStore),
    ChainAndName(RootCertStore),
}

fn client(verify: Verify) -> anyhow::Result<MakeRustls> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match verify {
        Verify::Nothing => Arc::new(AnyCertificate(provider.clone())),
        Verify::Chain(roots) => Arc::new(AnyHostName(webpki(roots, &provider)?)),
        Verify::ChainAndName(roots) => webpki(roots, &provider)?,
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS for PostgreSQL: no protocol version")?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustls(Arc::new(config)))
}

fn webpki(
    roots: RootCertStore,
    provider: &Arc<CryptoProvider>,
) -> anyhow::Result<Arc<WebPkiServerVerifier>> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .context("TLS for PostgreSQL: cannot build the certificate verifier")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_a_url_without_sslmode_alone() {
        let target = configure("postgres://u:p@db/warden?application_name=w").unwrap();
        assert_eq!(target.url, "postgres://u:p@db/warden?application_name=w");
        assert!(target.tls.is_none());
        assert_eq!(target.mode, "none");
    }

    #[test]
    fn tells_tokio_postgres_only_what_it_parses() {
        let target = configure("postgres://db/w?sslmode=verify-full&connect_timeout=3").unwrap();
        assert_eq!(
            target.url,
            "postgres://db/w?connect_timeout=3&sslmode=require"
        );
        assert!(target.tls.is_some());
        assert_eq!(target.mode, "verify-full");
        let target = configure("postgres://db/w?sslmode=disable").unwrap();
        assert!(target.tls.is_none());
        assert_eq!(target.url, "postgres://db/w?sslmode=disable");
    }

    #[test]
    fn require_with_a_root_certificate_verifies_the_chain_as_libpq_does() {
        let target = configure(
            "postgres://db/w?sslmode=require&sslrootcert=%2Fetc%2Fssl%2Fcerts%2Fssl-cert-snakeoil.pem",
        );
        // The file may be missing on a developer's machine; the decoded path is what matters.
        match target {
            Ok(target) => assert_eq!(target.mode, "verify-ca"),
            Err(err) => assert!(
                format!("{err:#}").contains("/etc/ssl/certs/ssl-cert-snakeoil.pem"),
                "{err:#}"
            ),
        }
    }

    #[test]
    fn refuses_modes_it_cannot_honour_and_unreadable_roots() {
        let err = configure("postgres://db/w?sslmode=allow").unwrap_err();
        assert!(err.to_string().contains("sslmode=allow"), "{err}");
        let err = configure("postgres://db/w?sslmode=verify-ca&sslrootcert=/nonexistent.pem")
            .unwrap_err();
        assert!(format!("{err:#}").contains("/nonexistent.pem"), "{err:#}");
    }
}
