//! Token introspection (RFC 7662): whether an access token is active right now, asked by a
//! client holding the `introspect` scope.

use std::sync::Arc;

use super::{AccessError, AuthenticatedClient, Authenticator};
use crate::ports::{InspectedToken, StoreError, TokenInspector};
use crate::{Scope, User};

/// What introspection tells a client.
#[derive(Debug, Clone)]
pub enum Introspection {
    /// The token would be honoured now: valid, unexpired, of an active account, not revoked.
    Active {
        token: InspectedToken,
        user: Box<User>,
    },
    /// Anything else: expired, malformed, forged, revoked, or its account is deactivated or
    /// gone. Deliberately says no more.
    Inactive,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntrospectError {
    /// The client was admitted for another scope than `introspect`.
    #[error("the client was not admitted to introspect")]
    Forbidden,
    /// The token's account could not be loaded: the store failed (see [`StoreError`]).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Introspects access tokens with the very rules every request is held to
/// ([`Authenticator::user`]).
#[derive(Clone)]
pub struct IntrospectToken {
    auth: Authenticator,
    inspector: Arc<dyn TokenInspector>,
}

impl std::fmt::Debug for IntrospectToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IntrospectToken")
    }
}

impl IntrospectToken {
    pub fn new(auth: Authenticator, inspector: Arc<dyn TokenInspector>) -> Self {
        Self { auth, inspector }
    }

    /// # Errors
    /// [`IntrospectError::Forbidden`] for a client admitted for another scope;
    /// [`IntrospectError::Store`] when the account cannot be loaded (then nothing is known).
    pub async fn execute(
        &self,
        client: &AuthenticatedClient,
        token: &str,
    ) -> Result<Introspection, IntrospectError> {
        if client.granted() != Scope::Introspect || !client.client().allows(Scope::Introspect) {
            return Err(IntrospectError::Forbidden);
        }
        let user = match self.auth.user(Some(token)).await {
            Ok(user) => user,
            Err(AccessError::Store(error)) => return Err(error.into()),
            Err(_) => return Ok(Introspection::Inactive),
        };
        Ok(match self.inspector.inspect(token).await {
            Ok(token) if token.claims.subject == user.id => Introspection::Active {
                token,
                user: Box::new(user),
            },
            _ => Introspection::Inactive,
        })
    }
}
