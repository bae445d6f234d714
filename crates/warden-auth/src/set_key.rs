//! The key that signs Security Event Tokens (SSF): RS256, 2048 bits, of its own. It is never
//! an access-token key: it signs only SETs (`typ: secevent+jwt`), and the access-token
//! verifier knows nothing of it, so neither can stand in for the other.

use std::path::Path;

use anyhow::Context as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, LineEnding};
use rsa::traits::PublicKeyParts as _;
use rsa::RsaPrivateKey;
use secrecy::ExposeSecret as _;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::secret_file::load_or_create_private;

/// The file name of the SET key in the data directory.
pub const SET_KEY_FILE: &str = "ssf-set-key.pem";

/// The `typ` header of every SET (RFC 8417 section 2.3).
pub const SET_TYP: &str = "secevent+jwt";

/// The public half of the SET key, as published at the JWKS.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RsaPublicJwk {
    pub kty: &'static str,
    pub n: String,
    pub e: String,
    pub kid: String,
    pub alg: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
}

/// Signs SETs. `Debug` shows only the `kid`.
#[derive(Clone)]
pub struct SetKey {
    encoding: EncodingKey,
    public: RsaPublicJwk,
}

impl std::fmt::Debug for SetKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetKey")
            .field("kid", &self.public.kid)
            .finish_non_exhaustive()
    }
}

impl SetKey {
    /// The key kept in `path` (PKCS#8 PEM), created on first use (`0600`).
    ///
    /// # Errors
    /// When the file cannot be read or created, is open to others, or holds no RSA key of at
    /// least 2048 bits.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        let pem = load_or_create_private(path, || {
            let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
                .context("cannot generate the SET key")?;
            Ok(key
                .to_pkcs8_pem(LineEnding::LF)
                .context("cannot encode the SET key")?
                .to_string())
        })?;
        Self::from_pem(pem.expose_secret())
            .with_context(|| format!("the SET key in {}", path.display()))
    }

    /// # Errors
    /// When `pem` is not an RSA private key of at least 2048 bits in PKCS#8 form.
    pub fn from_pem(pem: &str) -> anyhow::Result<Self> {
        let key = RsaPrivateKey::from_pkcs8_pem(pem).context("not an RSA key in PKCS#8 PEM")?;
        anyhow::ensure!(key.size() >= 256, "an RSA key under 2048 bits");
        let n = URL_SAFE_NO_PAD.encode(key.n().to_bytes_be());
        let e = URL_SAFE_NO_PAD.encode(key.e().to_bytes_be());
        // RFC 7638 thumbprint: the required members in lexicographic order, no blanks.
        let thumbprint = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(thumbprint.as_bytes()));
        let der = key.to_pkcs1_der().context("cannot encode the SET key")?;
        let encoding = EncodingKey::from_rsa_der(der.as_bytes());
        Ok(Self {
            encoding,
            public: RsaPublicJwk {
                kty: "RSA",
                n,
                e,
                kid,
                alg: "RS256",
                use_: "sig",
            },
        })
    }

    pub fn public_jwk(&self) -> &RsaPublicJwk {
        &self.public
    }

    pub fn kid(&self) -> &str {
        &self.public.kid
    }

    /// `claims` as a JWS compact SET: `alg` RS256, `typ` secevent+jwt, this key's `kid`.
    ///
    /// # Errors
    /// When the claims cannot be serialised or signed.
    pub fn sign(&self, claims: &impl Serialize) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some(SET_TYP.to_owned());
        header.kid = Some(self.public.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).context("cannot sign the SET")
    }
}
