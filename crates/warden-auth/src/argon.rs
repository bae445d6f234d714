use std::fmt;

use anyhow::Context as _;
use argon2::password_hash::{PasswordHash as Phc, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordVerifier as _, Version};
use async_trait::async_trait;
use warden_domain::ports::PasswordHasher;
use warden_domain::{Password, PasswordHash};

/// argon2id password hashing (PHC strings with a random 16-byte salt), run on Tokio's blocking
/// thread pool.
#[derive(Clone)]
pub struct Argon2Hasher {
    params: Params,
    /// A well-formed hash with the same parameters that no password matches: verifying against
    /// it costs what verifying a real hash costs, for accounts that do not exist.
    dummy: String,
}

impl Argon2Hasher {
    /// argon2's default parameters (the OWASP recommendation: 19 MiB, 2 passes, 1 lane).
    pub fn new() -> Self {
        Self::from_params(Params::default())
    }

    /// Other parameters: memory in KiB, passes, lanes.
    ///
    /// # Errors
    /// When argon2 refuses the parameters (e.g. `m_cost_kib < 8 * p_cost`, `t_cost == 0`).
    pub fn with_params(m_cost_kib: u32, t_cost: u32, p_cost: u32) -> anyhow::Result<Self> {
        let params = Params::new(m_cost_kib, t_cost, p_cost, None)
            .map_err(|err| anyhow::anyhow!("invalid argon2 parameters: {err}"))?;
        Ok(Self::from_params(params))
    }

    fn from_params(params: Params) -> Self {
        // An all-zero output that no real password produces (argon2 compares in constant time).
        let zeros = "A".repeat((Params::DEFAULT_OUTPUT_LEN * 4).div_ceil(3));
        let dummy = format!(
            "$argon2id$v=19$m={},t={},p={}$d2FyZGVuLWR1bW15LXNhbHQ${zeros}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost()
        );
        Self { params, dummy }
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }
}

impl Default for Argon2Hasher {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> anyhow::Result<PasswordHash> {
        let (argon2, password) = (self.argon2(), password.clone());
        tokio::task::spawn_blocking(move || {
            let salt_bytes: [u8; 16] = rand::random();
            let salt = SaltString::encode_b64(&salt_bytes)
                .map_err(|err| anyhow::anyhow!("cannot encode the salt: {err}"))?;
            let phc = argon2
                .hash_password(password.expose().as_bytes(), &salt)
                .map_err(|err| anyhow::anyhow!("argon2 failed: {err}"))?;
            Ok(PasswordHash::new(phc.to_string()))
        })
        .await
        .context("the hashing task failed")?
    }

    async fn verify<'a>(
        &self,
        password: &Password,
        hash: Option<&'a PasswordHash>,
    ) -> anyhow::Result<bool> {
        let known = hash.is_some();
        let phc = hash.map_or_else(|| self.dummy.clone(), |h| h.as_str().to_owned());
        let (argon2, password) = (self.argon2(), password.clone());
        tokio::task::spawn_blocking(move || {
            let parsed =
                Phc::new(&phc).map_err(|err| anyhow::anyhow!("not a PHC hash string: {err}"))?;
            // Without both, argon2 would answer "wrong password" without hashing anything.
            anyhow::ensure!(
                parsed.salt.is_some() && parsed.hash.is_some(),
                "the hash string has no salt or no output"
            );
            match argon2.verify_password(password.expose().as_bytes(), &parsed) {
                Ok(()) => Ok(known),
                Err(argon2::password_hash::Error::Password) => Ok(false),
                Err(err) => Err(anyhow::anyhow!("cannot verify against this hash: {err}")),
            }
        })
        .await
        .context("the verification task failed")?
    }
}

impl fmt::Debug for Argon2Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Argon2Hasher")
            .field("m_cost_kib", &self.params.m_cost())
            .field("t_cost", &self.params.t_cost())
            .field("p_cost", &self.params.p_cost())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn costs(params: &Params) -> (u32, u32, u32) {
        (params.m_cost(), params.t_cost(), params.p_cost())
    }

    #[test]
    fn the_dummy_hash_is_well_formed_with_the_hashers_parameters() {
        for hasher in [
            Argon2Hasher::with_params(1024, 3, 2).unwrap(),
            Argon2Hasher::new(),
        ] {
            let phc = Phc::new(&hasher.dummy).unwrap();
            assert_eq!(phc.algorithm.as_str(), "argon2id");
            assert_eq!(
                costs(&Params::try_from(&phc).unwrap()),
                costs(&hasher.params)
            );
            assert_eq!(phc.hash.unwrap().len(), Params::DEFAULT_OUTPUT_LEN);
        }
        assert_eq!(costs(&Argon2Hasher::new().params), (19 * 1024, 2, 1));
    }
}
