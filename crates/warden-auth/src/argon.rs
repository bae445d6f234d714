use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use argon2::password_hash::{Output, ParamsString, PasswordHash as Phc, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use async_trait::async_trait;
use tokio::sync::Semaphore;
use warden_domain::ports::{HashError, PasswordHasher};
use warden_domain::{Password, PasswordHash};

/// argon2id password hashing (PHC strings with a random 16-byte salt), run on Tokio's blocking
/// thread pool, at most [`Argon2Hasher::concurrency`] at a time.
///
/// Each hash needs `m_cost` KiB of working memory (19 MiB by default). Without a bound, every
/// concurrent sign-in took its own blocking thread and its own buffer, which glibc's per-thread
/// arenas then kept (100 concurrent logins: 1.98 GB resident). Here a semaphore admits a few
/// hashes at once, a login waits at most [`Argon2Hasher::wait`] for a slot (then
/// [`HashError::Busy`]), and the working buffers are allocated once and reused.
#[derive(Clone)]
pub struct Argon2Hasher {
    params: Params,
    /// A well-formed hash with the same parameters that no password matches: verifying against
    /// it costs what verifying a real hash costs, for accounts that do not exist.
    dummy: String,
    slots: Arc<Semaphore>,
    concurrency: usize,
    wait: Duration,
    /// Working memory of finished hashes, for the next ones (at most one per slot).
    buffers: Arc<Mutex<Vec<Vec<Block>>>>,
}

impl Argon2Hasher {
    /// How long a hash waits for a free slot by default.
    pub const DEFAULT_WAIT: Duration = Duration::from_secs(2);

    /// argon2's default parameters (the OWASP recommendation: 19 MiB, 2 passes, 1 lane), with
    /// [`Argon2Hasher::default_concurrency`] slots and [`Argon2Hasher::DEFAULT_WAIT`].
    pub fn new() -> Self {
        Self::from_params(Params::default())
    }

    /// Two hashes per core: enough to keep the cores busy, few enough to bound memory.
    pub fn default_concurrency() -> usize {
        std::thread::available_parallelism().map_or(2, |n| n.get() * 2)
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

    /// At most `concurrency` (at least 1) hashes at once; a hash waits at most `wait` for a
    /// slot.
    #[must_use]
    pub fn with_limits(mut self, concurrency: usize, wait: Duration) -> Self {
        self.concurrency = concurrency.max(1);
        self.slots = Arc::new(Semaphore::new(self.concurrency));
        self.wait = wait;
        self
    }

    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    pub fn wait(&self) -> Duration {
        self.wait
    }

    /// Slots free right now (shared by clones): observable state for tests and metrics.
    pub fn idle_slots(&self) -> usize {
        self.slots.available_permits()
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
        let concurrency = Self::default_concurrency();
        Self {
            params,
            dummy,
            slots: Arc::new(Semaphore::new(concurrency)),
            concurrency,
            wait: Self::DEFAULT_WAIT,
            buffers: Arc::default(),
        }
    }

    /// Runs `work` on a blocking thread once a slot is free, with a reused working buffer.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let permit = tokio::time::timeout(self.wait, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| HashError::Busy)?
            .map_err(|_| HashError::Busy)?;
        let buffers = self.buffers.clone();
        tokio::task::spawn_blocking(move || {
            let mut buffer = buffers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop()
                .unwrap_or_default();
            let result = work(&mut buffer);
            buffers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(buffer);
            drop(permit);
            result
        })
        .await
        .map_err(|err| failed("the hashing task failed", err))?
    }
}

impl Default for Argon2Hasher {
    fn default() -> Self {
        Self::new()
    }
}

fn failed(what: &str, err: impl fmt::Display) -> HashError {
    HashError::Failed(format!("{what}: {err}").into())
}

/// argon2 over `password` into `out`, in `buffer` (grown when these parameters need more).
fn compute(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    buffer: &mut Vec<Block>,
) -> Result<(), HashError> {
    let blocks = argon2.params().block_count();
    if buffer.len() < blocks {
        buffer.resize(blocks, Block::new());
    }
    argon2
        .hash_password_into_with_memory(password, salt, out, &mut buffer[..blocks])
        .map_err(|err| failed("argon2 failed", err))
}

/// Whether `password` gives the output recorded in the PHC string `phc`.
fn matches(password: &[u8], phc: &str, buffer: &mut Vec<Block>) -> Result<bool, HashError> {
    let parsed = Phc::new(phc).map_err(|err| failed("not a PHC hash string", err))?;
    // Without both, there would be nothing to compute or compare.
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(failed("the hash string", "has no salt or no output"));
    };
    let unusable =
        |err: argon2::password_hash::Error| failed("cannot verify against this hash", err);
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(unusable)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|err| failed("unknown argon2 version", err))?
        .unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(unusable)?;
    let mut salt_bytes = [0_u8; 64];
    let salt = salt.decode_b64(&mut salt_bytes).map_err(unusable)?;
    let mut out = vec![0_u8; expected.len()];
    compute(
        &Argon2::new(algorithm, version, params),
        password,
        salt,
        &mut out,
        buffer,
    )?;
    let computed = Output::new(&out).map_err(unusable)?;
    // `Output` compares in constant time.
    Ok(computed == expected)
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let (params, password) = (self.params.clone(), password.clone());
        self.run(move |buffer| {
            let salt_bytes: [u8; 16] = rand::random();
            let salt = SaltString::encode_b64(&salt_bytes)
                .map_err(|err| failed("cannot encode the salt", err))?;
            let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
            let mut out = [0_u8; Params::DEFAULT_OUTPUT_LEN];
            compute(
                &argon2,
                password.expose().as_bytes(),
                &salt_bytes,
                &mut out,
                buffer,
            )?;
            let phc = Phc {
                algorithm: Algorithm::Argon2id.ident(),
                version: Some(Version::V0x13.into()),
                params: ParamsString::try_from(&params)
                    .map_err(|err| failed("cannot encode the parameters", err))?,
                salt: Some(salt.as_salt()),
                hash: Some(Output::new(&out).map_err(|err| failed("argon2 output", err))?),
            };
            Ok(PasswordHash::new(phc.to_string()))
        })
        .await
    }

    async fn verify<'a>(
        &self,
        password: &Password,
        hash: Option<&'a PasswordHash>,
    ) -> Result<bool, HashError> {
        let known = hash.is_some();
        let phc = hash.map_or_else(|| self.dummy.clone(), |h| h.as_str().to_owned());
        let password = password.clone();
        self.run(move |buffer| Ok(matches(password.expose().as_bytes(), &phc, buffer)? && known))
            .await
    }
}

impl fmt::Debug for Argon2Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Argon2Hasher")
            .field("m_cost_kib", &self.params.m_cost())
            .field("t_cost", &self.params.t_cost())
            .field("p_cost", &self.params.p_cost())
            .field("concurrency", &self.concurrency)
            .field("wait", &self.wait)
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
