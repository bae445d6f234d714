//! [`VerifiedTokens`]: the claims of access tokens whose signature was checked recently, so that
//! a client presenting the same token again (an admin's console, a script) costs a lookup rather
//! than base64, JSON and HMAC again.
//!
//! Only tokens that passed every check get in, keyed by their whole text, so nothing an attacker
//! sends can enter it without a valid signature, and a hit is the very token verified before.
//! What can change with time is checked again on every hit: a token stops being honoured at its
//! `valid_until` (expiry plus leeway), cached or not. Revocation is not a token property (the
//! account's token version, read from the database), so it is unaffected. The keys a process
//! verifies with are fixed for its lifetime, so a verdict never goes stale.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use warden_domain::ports::TokenClaims;

/// Tokens remembered at most; when full, the memory is cleared and refills with the tokens in
/// use, which bounds it against a stream of distinct valid tokens.
const CAPACITY: usize = 4096;

#[derive(Default)]
pub(crate) struct VerifiedTokens {
    claims: Mutex<HashMap<Box<str>, TokenClaims>>,
}

impl VerifiedTokens {
    /// The claims of `token` if it was verified before and is still within its validity at `now`.
    pub(crate) fn get(&self, token: &str, now: DateTime<Utc>) -> Option<TokenClaims> {
        let claims = self.claims.lock().ok()?;
        claims
            .get(token)
            .filter(|claims| now <= claims.valid_until)
            .copied()
    }

    /// Remembers the claims of `token`, which just passed every check.
    pub(crate) fn insert(&self, token: &str, claims: TokenClaims) {
        if let Ok(mut memory) = self.claims.lock() {
            if memory.len() >= CAPACITY {
                memory.clear();
            }
            memory.insert(token.into(), claims);
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use warden_domain::UserId;

    use super::*;

    fn claims(valid_until: DateTime<Utc>) -> TokenClaims {
        TokenClaims {
            subject: UserId::generate(),
            token_version: 3,
            valid_until,
        }
    }

    #[test]
    fn a_remembered_token_is_honoured_until_its_validity_ends_and_not_after() {
        let now = Utc::now();
        let tokens = VerifiedTokens::default();
        let remembered = claims(now + TimeDelta::seconds(10));
        tokens.insert("a.b.c", remembered);
        assert_eq!(tokens.get("a.b.c", now), Some(remembered));
        assert_eq!(
            tokens.get("a.b.c", now + TimeDelta::seconds(10)),
            Some(remembered)
        );
        assert_eq!(tokens.get("a.b.c", now + TimeDelta::seconds(11)), None);
        assert_eq!(tokens.get("a.b.d", now), None, "only the very same text");
    }

    #[test]
    fn the_memory_stays_bounded() {
        let now = Utc::now();
        let tokens = VerifiedTokens::default();
        for i in 0..=CAPACITY {
            tokens.insert(&format!("token-{i}"), claims(now + TimeDelta::hours(1)));
        }
        let held = tokens.claims.lock().unwrap().len();
        assert!(held <= CAPACITY, "{held} tokens held");
        assert!(tokens.get(&format!("token-{CAPACITY}"), now).is_some());
    }
}
