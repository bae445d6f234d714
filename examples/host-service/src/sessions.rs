//! The host's own access tokens: opaque session ids it hands out itself. Warden's JWTs are not
//! involved; `warden-domain` only needs an [`AuthVerifier`].

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use warden_domain::ports::{AuthVerifier, InvalidToken, TokenClaims};
use warden_domain::User;

/// Session id -> the claims it was issued with. Cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct HostSessions {
    sessions: Mutex<HashMap<String, TokenClaims>>,
}

impl HostSessions {
    /// Opens a session for `user` as it is now (its current `token_version`), honoured until
    /// `valid_until`. A real host would make the id unguessable.
    pub fn open(&self, id: &str, user: &User, valid_until: DateTime<Utc>) {
        let claims = TokenClaims {
            subject: user.id,
            token_version: user.token_version,
            valid_until,
        };
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.to_owned(), claims);
    }
}

// guide:begin verifier
#[async_trait::async_trait]
impl AuthVerifier for HostSessions {
    /// Checks the token alone: known, not expired. Whether its subject exists, is active and
    /// still on `token_version` is decided by the domain's `Authenticator`, not here.
    async fn verify(&self, token: &str) -> Result<TokenClaims, InvalidToken> {
        let sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let claims = sessions
            .get(token)
            .copied()
            .ok_or_else(|| InvalidToken("unknown session".into()))?;
        if claims.valid_until < Utc::now() {
            return Err(InvalidToken("session expired".into()));
        }
        Ok(claims)
    }
}
// guide:end verifier
