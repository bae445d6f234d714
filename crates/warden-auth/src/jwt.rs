use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use warden_domain::ports::{
    AccessToken, AuthVerifier, InvalidToken, TokenClaims, TokenError, TokenIssuer,
};
use warden_domain::{User, UserId};

const ISSUER: &str = "warden";
const AUDIENCE: &str = "warden";
/// Clock skew tolerated on `exp` and `nbf`, in seconds.
const LEEWAY_SECONDS: u64 = 5;

/// What Warden's access tokens carry. `iat` and `ver` are not optional, so a token without them
/// does not deserialize (jsonwebtoken's `Validation` cannot require them).
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    ver: i32,
    iat: u64,
    exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<u64>,
    iss: String,
    aud: String,
}

/// Issues and verifies HS256 JWT access tokens (`iss` and `aud` `"warden"`). Only HS256 is
/// accepted: `none`, other HMAC sizes and asymmetric algorithms are refused, and so is any token
/// whose header has a `crit` member (Warden understands no critical extension).
#[derive(Clone)]
pub struct JwtAuth {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_seconds: u64,
}

impl JwtAuth {
    /// The shortest secret accepted, in bytes.
    pub const MIN_SECRET_BYTES: usize = 32;

    /// Uses the bytes of `secret` (as they are, not hex-decoded) as the HMAC key; tokens live
    /// `ttl` (whole seconds).
    ///
    /// # Errors
    /// When `secret` is shorter than [`JwtAuth::MIN_SECRET_BYTES`] or `ttl` under a second.
    pub fn new(secret: SecretString, ttl: Duration) -> anyhow::Result<Self> {
        let key = secret.expose_secret().as_bytes();
        anyhow::ensure!(
            key.len() >= Self::MIN_SECRET_BYTES,
            "the token secret must be at least {} bytes long",
            Self::MIN_SECRET_BYTES
        );
        anyhow::ensure!(
            ttl.as_secs() >= 1,
            "the token lifetime must be at least 1 s"
        );
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        Ok(Self {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation,
            ttl_seconds: ttl.as_secs(),
        })
    }
}

#[async_trait]
impl TokenIssuer for JwtAuth {
    async fn issue(&self, user: &User, now: DateTime<Utc>) -> Result<AccessToken, TokenError> {
        let iat = u64::try_from(now.timestamp()).map_err(TokenError::new)?;
        let claims = Claims {
            sub: user.id.to_string(),
            ver: user.token_version,
            iat,
            exp: iat.saturating_add(self.ttl_seconds),
            nbf: None,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(TokenError::new)?;
        Ok(AccessToken::new(token, self.ttl_seconds))
    }
}

#[async_trait]
impl AuthVerifier for JwtAuth {
    async fn verify(&self, token: &str) -> Result<TokenClaims, InvalidToken> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|err| InvalidToken(err.to_string()))?;
        // RFC 7515 4.1.6: a receiver must refuse a token naming critical extensions it does not
        // understand. Warden understands none, and jsonwebtoken ignores the header.
        if data.header.crit.is_some() {
            return Err(InvalidToken(
                "the token names critical header extensions".into(),
            ));
        }
        // jsonwebtoken does not check `iat`; a token "issued" in the future is not ours.
        let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
        if data.claims.iat > now.saturating_add(LEEWAY_SECONDS) {
            return Err(InvalidToken(
                "the token claims to be issued in the future".into(),
            ));
        }
        let subject = UserId::parse(&data.claims.sub)
            .map_err(|_| InvalidToken("the subject is not a user id".into()))?;
        let valid_until = i64::try_from(data.claims.exp.saturating_add(LEEWAY_SECONDS))
            .ok()
            .and_then(|secs| DateTime::from_timestamp(secs, 0))
            .ok_or_else(|| InvalidToken("the expiry is out of range".into()))?;
        Ok(TokenClaims {
            subject,
            token_version: data.claims.ver,
            valid_until,
        })
    }
}

impl fmt::Debug for JwtAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuth")
            .field("algorithm", &Algorithm::HS256)
            .field("ttl_seconds", &self.ttl_seconds)
            .field("key", &"<redacted>")
            .finish()
    }
}
