//! The access-token settings (`JWT_*`) and the [`JwtAuth`] they make: HS256 with a shared secret
//! (the default) or EdDSA with the Ed25519 keys of a key file.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use secrecy::SecretString;
use warden_auth::{Ed25519Keys, JwtAuth, JwtSettings, DEFAULT_AUDIENCE, DEFAULT_ISSUER};

use crate::run::config::ConfigError;

/// The key file's name in the data directory when `JWT_PRIVATE_KEY_FILE` is not set.
pub const DEFAULT_KEY_FILE: &str = "jwt-ed25519.pem";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtAlgorithm {
    /// A shared secret (`JWT_SECRET`, or one generated in the data directory). Nothing is
    /// published: only Warden can verify.
    Hs256,
    /// Ed25519 keys; the public keys are published at `/.well-known/jwks.json`.
    EdDsa,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtConfig {
    pub algorithm: JwtAlgorithm,
    /// EdDSA: the key file (`None`: `jwt-ed25519.pem` in the data directory).
    pub private_key_file: Option<PathBuf>,
    pub issuer: String,
    pub audience: String,
}

impl JwtConfig {
    /// `JWT_ALGORITHM` (`HS256` or `EdDSA`), `JWT_PRIVATE_KEY_FILE`, `JWT_ISSUER`,
    /// `JWT_AUDIENCE`; `get` yields only non-blank values.
    ///
    /// # Errors
    /// An unknown algorithm, or a key file named for HS256.
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let algorithm = match get("JWT_ALGORITHM").map(|v| v.trim().to_ascii_uppercase()) {
            None => JwtAlgorithm::Hs256,
            Some(name) if name == "HS256" => JwtAlgorithm::Hs256,
            Some(name) if name == "EDDSA" => JwtAlgorithm::EdDsa,
            Some(_) => {
                return Err(ConfigError {
                    var: "JWT_ALGORITHM",
                    problem: "must be HS256 or EdDSA".into(),
                })
            }
        };
        let private_key_file = get("JWT_PRIVATE_KEY_FILE").map(PathBuf::from);
        if private_key_file.is_some() && algorithm == JwtAlgorithm::Hs256 {
            return Err(ConfigError {
                var: "JWT_PRIVATE_KEY_FILE",
                problem: "is only used with JWT_ALGORITHM=EdDSA".into(),
            });
        }
        Ok(Self {
            algorithm,
            private_key_file,
            issuer: get("JWT_ISSUER").unwrap_or_else(|| DEFAULT_ISSUER.into()),
            audience: get("JWT_AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCE.into()),
        })
    }

    /// The Ed25519 key file: `JWT_PRIVATE_KEY_FILE`, else `jwt-ed25519.pem` in `data_dir`.
    pub fn key_file(&self, data_dir: &Path) -> PathBuf {
        self.private_key_file
            .clone()
            .unwrap_or_else(|| data_dir.join(DEFAULT_KEY_FILE))
    }

    /// The token issuer and verifier. HS256 uses `secret`, or the secret generated once in
    /// `data_dir`; EdDSA the key file, generated (with one key) in `data_dir` if the default one
    /// does not exist yet. A named `JWT_PRIVATE_KEY_FILE` must exist.
    ///
    /// # Errors
    /// When a secret or key cannot be read or created, or the settings are unusable.
    pub fn build(
        &self,
        secret: Option<&SecretString>,
        data_dir: &Path,
        ttl: std::time::Duration,
    ) -> anyhow::Result<JwtAuth> {
        let settings = JwtSettings {
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            ttl,
        };
        match self.algorithm {
            JwtAlgorithm::Hs256 => {
                let secret = match secret {
                    Some(secret) => secret.clone(),
                    None => {
                        let path = data_dir.join("jwt-secret");
                        warden_auth::load_or_create_secret(&path)
                            .with_context(|| format!("JWT secret file {}", path.display()))?
                    }
                };
                JwtAuth::hs256(secret, settings).context("JWT_SECRET")
            }
            JwtAlgorithm::EdDsa => {
                let keys = match &self.private_key_file {
                    Some(path) => Ed25519Keys::load(path).context("JWT_PRIVATE_KEY_FILE")?,
                    None => Ed25519Keys::load_or_create(&self.key_file(data_dir))?,
                };
                JwtAuth::ed25519(&keys, settings).context("JWT_ISSUER or JWT_AUDIENCE")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<JwtConfig, ConfigError> {
        JwtConfig::from_lookup(&|name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn defaults_to_hs256_issued_by_and_for_warden() {
        let config = read(&[]).unwrap();
        assert_eq!(config.algorithm, JwtAlgorithm::Hs256);
        assert_eq!(
            (config.issuer.as_str(), config.audience.as_str()),
            ("warden", "warden")
        );
        assert_eq!(
            config.key_file(Path::new("/data")),
            Path::new("/data/jwt-ed25519.pem")
        );
    }

    #[test]
    fn reads_eddsa_with_its_key_file_and_refuses_nonsense() {
        let config = read(&[
            ("JWT_ALGORITHM", "EdDSA"),
            ("JWT_PRIVATE_KEY_FILE", "/keys/k.pem"),
            ("JWT_ISSUER", "https://id.example.com"),
            ("JWT_AUDIENCE", "api"),
        ])
        .unwrap();
        assert_eq!(config.algorithm, JwtAlgorithm::EdDsa);
        assert_eq!(
            config.key_file(Path::new("/data")),
            Path::new("/keys/k.pem")
        );
        assert_eq!(config.issuer, "https://id.example.com");
        let bad = read(&[("JWT_ALGORITHM", "RS256")]).unwrap_err();
        assert_eq!(bad.var, "JWT_ALGORITHM");
        let bad = read(&[("JWT_PRIVATE_KEY_FILE", "/k.pem")]).unwrap_err();
        assert_eq!(bad.var, "JWT_PRIVATE_KEY_FILE");
    }
}
