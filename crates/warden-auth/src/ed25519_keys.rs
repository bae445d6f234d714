//! Ed25519 signing keys kept in one PEM file: one or more PKCS#8 `PRIVATE KEY` blocks (the
//! form `openssl genpkey -algorithm ed25519` writes). The **last** key signs new tokens; every
//! key verifies, so tokens signed before a rotation stay valid until they expire. Each key is
//! named by its RFC 7638 JWK thumbprint (its `kid`).

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

/// The fixed DER prefix of an Ed25519 private key in PKCS#8 v1 (RFC 8410), before its 32-byte
/// seed.
const PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const END: &str = "-----END PRIVATE KEY-----";

/// One Ed25519 key pair.
#[derive(Clone)]
pub(crate) struct Ed25519Key {
    pub(crate) kid: String,
    pub(crate) encoding: EncodingKey,
    pub(crate) decoding: DecodingKey,
    pub(crate) public: PublicJwk,
    der: Vec<u8>,
}

/// A public key as JWKS publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicJwk {
    pub kty: &'static str,
    pub crv: &'static str,
    pub x: String,
    pub kid: String,
    pub alg: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
}

impl Ed25519Key {
    fn from_der(der: Vec<u8>) -> anyhow::Result<Self> {
        if der.len() != 48 || der[..16] != PKCS8_PREFIX {
            bail!("not an Ed25519 private key in PKCS#8 form (openssl genpkey -algorithm ed25519)");
        }
        let encoding = EncodingKey::from_ed_der(&der);
        let x = match Jwk::from_encoding_key(&encoding, Algorithm::EdDSA)
            .context("cannot derive the Ed25519 public key")?
            .algorithm
        {
            AlgorithmParameters::OctetKeyPair(params) => params.x,
            _ => bail!("not an Ed25519 key"),
        };
        let decoding =
            DecodingKey::from_ed_components(&x).context("cannot read the Ed25519 public key")?;
        // RFC 7638: the SHA-256 of the required members, in lexicographic order, no spaces.
        let thumbprint = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(thumbprint.as_bytes()));
        let public = PublicJwk {
            kty: "OKP",
            crv: "Ed25519",
            x,
            kid: kid.clone(),
            alg: "EdDSA",
            use_: "sig",
        };
        Ok(Self {
            kid,
            encoding,
            decoding,
            public,
            der,
        })
    }

    fn generate() -> anyhow::Result<Self> {
        let mut der = PKCS8_PREFIX.to_vec();
        let mut seed = [0u8; 32];
        rand::fill(&mut seed);
        der.extend_from_slice(&seed);
        Self::from_der(der)
    }

    fn pem(&self) -> String {
        let body = STANDARD.encode(&self.der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|chunk| std::str::from_utf8(chunk).unwrap_or_default())
            .collect();
        format!("{BEGIN}\n{}\n{END}\n", lines.join("\n"))
    }
}

/// The keys of one key file, oldest first; the last one signs.
#[derive(Clone)]
pub struct Ed25519Keys {
    keys: Vec<Ed25519Key>,
}

impl std::fmt::Debug for Ed25519Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|k| k.kid.as_str()).collect();
        f.debug_struct("Ed25519Keys").field("kids", &kids).finish()
    }
}

impl Ed25519Keys {
    /// The keys of a PEM text.
    ///
    /// # Errors
    /// When it holds no `PRIVATE KEY` block, or one that is not an Ed25519 PKCS#8 key.
    pub fn parse_pem(text: &str) -> anyhow::Result<Self> {
        let mut keys = Vec::new();
        let mut block: Option<String> = None;
        for line in text.lines().map(str::trim) {
            match (&mut block, line) {
                (None, BEGIN) => block = Some(String::new()),
                (Some(body), END) => {
                    let der = STANDARD
                        .decode(body.as_bytes())
                        .context("a PRIVATE KEY block is not base64")?;
                    keys.push(Ed25519Key::from_der(der)?);
                    block = None;
                }
                (Some(body), line) => body.push_str(line),
                (None, _) => {}
            }
        }
        if block.is_some() {
            bail!("a PRIVATE KEY block is not closed");
        }
        if keys.is_empty() {
            bail!("no PRIVATE KEY block");
        }
        Ok(Self { keys })
    }

    /// The keys in `path` (which must be private to its owner).
    ///
    /// # Errors
    /// When the file cannot be read, is open to group or others, or holds no valid key.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = read_private(path)
            .with_context(|| format!("cannot read the key file {}", path.display()))?;
        Self::parse_pem(&text).with_context(|| format!("the key file {}", path.display()))
    }

    /// The keys in `path`; if there is no such file, creates it (`0600`, in a parent created
    /// `0700` if missing) with one new key. Two processes starting at once agree on one file.
    ///
    /// # Errors
    /// As [`Ed25519Keys::load`], or when the file cannot be created.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        match fs::metadata(path) {
            Err(err) if err.kind() == ErrorKind::NotFound => {}
            _ => return Self::load(path),
        }
        let keys = Self {
            keys: vec![Ed25519Key::generate()?],
        };
        match keys.write_new(path) {
            Ok(()) => Ok(keys),
            Err(err) if err.kind() == ErrorKind::AlreadyExists => Self::load(path),
            Err(err) => {
                Err(err).with_context(|| format!("cannot create the key file {}", path.display()))
            }
        }
    }

    /// Adds a new signing key to the file at `path` (created if missing), keeping the older
    /// ones so that the tokens they signed keep verifying. Returns the new key's `kid`.
    ///
    /// # Errors
    /// When the file cannot be read or replaced.
    pub fn rotate(path: &Path) -> anyhow::Result<String> {
        let mut keys = match fs::metadata(path) {
            Err(err) if err.kind() == ErrorKind::NotFound => Self { keys: Vec::new() },
            _ => Self::load(path)?,
        };
        let key = Ed25519Key::generate()?;
        let kid = key.kid.clone();
        keys.keys.push(key);
        let temp = temp_path(path);
        let written = keys.write_to(&temp).and_then(|()| fs::rename(&temp, path));
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        written.with_context(|| format!("cannot replace the key file {}", path.display()))?;
        Ok(kid)
    }

    pub(crate) fn signing(&self) -> &Ed25519Key {
        // `parse_pem` and the constructors never make an empty set.
        &self.keys[self.keys.len() - 1]
    }

    pub(crate) fn all(&self) -> &[Ed25519Key] {
        &self.keys
    }

    /// Every key's `kid`, oldest first.
    pub fn kids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.kid.clone()).collect()
    }

    fn pem(&self) -> String {
        self.keys.iter().map(Ed25519Key::pem).collect()
    }

    fn write_new(&self, path: &Path) -> std::io::Result<()> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)?;
        }
        let temp = temp_path(path);
        let written = self
            .write_to(&temp)
            .and_then(|()| fs::hard_link(&temp, path));
        let _ = fs::remove_file(&temp);
        written
    }

    fn write_to(&self, path: &Path) -> std::io::Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        file.write_all(self.pem().as_bytes())?;
        file.sync_all()
    }
}

fn read_private(path: &Path) -> std::io::Result<String> {
    let mode = fs::metadata(path)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(std::io::Error::new(
            ErrorKind::PermissionDenied,
            format!("it is open to group or others (mode {mode:04o}); make it private: chmod 600"),
        ));
    }
    fs::read_to_string(path)
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    let mut random = [0u8; 6];
    rand::fill(&mut random);
    name.push(format!(
        ".{}.{}.tmp",
        std::process::id(),
        URL_SAFE_NO_PAD.encode(random)
    ));
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `openssl genpkey -algorithm ed25519` output (RFC 8032 test 1's seed).
    const OPENSSL_PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n\
        -----END PRIVATE KEY-----\n";

    #[test]
    fn reads_an_openssl_key_and_derives_its_public_key() {
        let keys = Ed25519Keys::parse_pem(OPENSSL_PEM).unwrap();
        // RFC 8032 7.1 test 1: the public key of that seed.
        let x = URL_SAFE_NO_PAD.encode(
            hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a").as_slice(),
        );
        assert_eq!(keys.signing().public.x, x);
        assert_eq!(keys.signing().kid.len(), 43);
        assert_eq!(
            Ed25519Keys::parse_pem(&keys.pem()).unwrap().kids(),
            keys.kids()
        );
    }

    #[test]
    fn refuses_what_is_not_an_ed25519_key() {
        for text in [
            "",
            "no key here",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        ] {
            assert!(Ed25519Keys::parse_pem(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn creates_once_private_then_rotates_keeping_older_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("jwt-ed25519.pem");
        let first = Ed25519Keys::load_or_create(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            Ed25519Keys::load_or_create(&path).unwrap().kids(),
            first.kids()
        );
        let kid = Ed25519Keys::rotate(&path).unwrap();
        let rotated = Ed25519Keys::load(&path).unwrap();
        assert_eq!(rotated.kids(), [first.kids(), vec![kid.clone()]].concat());
        assert_eq!(rotated.signing().kid, kid);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(Ed25519Keys::load(&path).is_err());
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }
}
