//! Machine clients' bearer tokens: `wdn_` and 43 characters of base64url (32 random bytes),
//! stored as their SHA-256. A 256-bit random token needs no slow, salted hash: nobody can guess
//! one from its digest.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use warden_domain::ports::ClientTokens;
use warden_domain::{ClientSecret, TokenHash};

/// What every client token starts with, so that one found in a log or a repository is
/// recognisable (and secret scanners can look for it).
pub const CLIENT_TOKEN_PREFIX: &str = "wdn_";

/// [`ClientTokens`] from the operating system's random source and SHA-256.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomClientTokens;

impl ClientTokens for RandomClientTokens {
    fn generate(&self) -> (ClientSecret, TokenHash) {
        let mut random = [0u8; 32];
        rand::fill(&mut random);
        let token = format!("{CLIENT_TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(random));
        let hash = self.hash(&token);
        (ClientSecret::new(token), hash)
    }

    fn hash(&self, token: &str) -> TokenHash {
        TokenHash::new(Sha256::digest(token.as_bytes()).to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed_with_sha256() {
        let (token, hash) = RandomClientTokens.generate();
        let text = token.expose();
        assert!(text.starts_with("wdn_") && text.len() == 4 + 43, "{text}");
        assert_eq!(hash, RandomClientTokens.hash(text));
        assert_ne!(RandomClientTokens.generate().0, token);
        // FIPS 180-2 test vector: SHA-256("abc").
        assert_eq!(
            RandomClientTokens.hash("abc").as_bytes()[..4],
            [0xba, 0x78, 0x16, 0xbf]
        );
    }
}
