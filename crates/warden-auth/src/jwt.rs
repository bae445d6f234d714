use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use warden_domain::ports::{
    AccessToken, AuthVerifier, InspectedToken, InvalidToken, TokenClaims, TokenError,
    TokenInspector, TokenIssuer,
};
use warden_domain::{User, UserId};

use crate::ed25519_keys::{Ed25519Keys, PublicJwk};
use crate::verified_tokens::VerifiedTokens;

/// The default `iss` and `aud` of Warden's tokens.
pub const DEFAULT_ISSUER: &str = "warden";
pub const DEFAULT_AUDIENCE: &str = "warden";
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

/// The token settings besides the keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtSettings {
    /// `iss` written into every token and required of every token.
    pub issuer: String,
    /// `aud` written into every token and required of every token.
    pub audience: String,
    /// How long a token lives (whole seconds, at least one).
    pub ttl: Duration,
}

impl JwtSettings {
    /// The default issuer and audience (`warden`), tokens living `ttl`.
    pub fn with_ttl(ttl: Duration) -> Self {
        Self {
            issuer: DEFAULT_ISSUER.to_owned(),
            audience: DEFAULT_AUDIENCE.to_owned(),
            ttl,
        }
    }
}

/// The JSON Web Key Set of the public keys that verify Warden's tokens: empty for HS256 (a
/// symmetric key is never published).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Jwks {
    pub keys: Vec<PublicJwk>,
}

/// Issues and verifies JWT access tokens, HS256 (a shared secret) or EdDSA (Ed25519 keys, each
/// token naming its key by `kid`). Only the configured algorithm is accepted: `none` and every
/// other algorithm are refused, and so is any token whose header has a `crit` member (Warden
/// understands no critical extension), or whose `iss` or `aud` is not the configured one.
#[derive(Clone)]
pub struct JwtAuth {
    algorithm: Algorithm,
    encoding: EncodingKey,
    /// The `kid` of the signing key (EdDSA only).
    signing_kid: Option<String>,
    /// Every verifying key, by `kid` (HS256: one key, no `kid`).
    decoding: Vec<(Option<String>, DecodingKey)>,
    validation: Validation,
    settings: JwtSettings,
    jwks: Jwks,
    /// Tokens that passed [`JwtAuth::decode`] lately, for [`AuthVerifier::verify`]; clones
    /// (with the same keys) share it.
    verified: Arc<VerifiedTokens>,
}

impl JwtAuth {
    /// The shortest secret accepted, in bytes.
    pub const MIN_SECRET_BYTES: usize = 32;

    /// HS256 with the default issuer and audience; see [`JwtAuth::hs256`].
    ///
    /// # Errors
    /// As [`JwtAuth::hs256`].
    pub fn new(secret: SecretString, ttl: Duration) -> anyhow::Result<Self> {
        Self::hs256(secret, JwtSettings::with_ttl(ttl))
    }

    /// Uses the bytes of `secret` (as they are, not hex-decoded) as the HMAC key.
    ///
    /// # Errors
    /// When `secret` is shorter than [`JwtAuth::MIN_SECRET_BYTES`], the lifetime under a second,
    /// or the issuer or audience empty.
    pub fn hs256(secret: SecretString, settings: JwtSettings) -> anyhow::Result<Self> {
        let key = secret.expose_secret().as_bytes();
        anyhow::ensure!(
            key.len() >= Self::MIN_SECRET_BYTES,
            "the token secret must be at least {} bytes long",
            Self::MIN_SECRET_BYTES
        );
        let decoding = vec![(None, DecodingKey::from_secret(key))];
        Self::build(
            Algorithm::HS256,
            EncodingKey::from_secret(key),
            None,
            decoding,
            Jwks::default(),
            settings,
        )
    }

    /// Signs with the last of `keys` (naming it in the `kid` header) and verifies with any of
    /// them, picked by the token's `kid`.
    ///
    /// # Errors
    /// When the lifetime is under a second, or the issuer or audience empty.
    pub fn ed25519(keys: &Ed25519Keys, settings: JwtSettings) -> anyhow::Result<Self> {
        let signing = keys.signing();
        let decoding = keys
            .all()
            .iter()
            .map(|key| (Some(key.kid.clone()), key.decoding.clone()))
            .collect();
        let jwks = Jwks {
            keys: keys.all().iter().map(|key| key.public.clone()).collect(),
        };
        Self::build(
            Algorithm::EdDSA,
            signing.encoding.clone(),
            Some(signing.kid.clone()),
            decoding,
            jwks,
            settings,
        )
    }

    fn build(
        algorithm: Algorithm,
        encoding: EncodingKey,
        signing_kid: Option<String>,
        decoding: Vec<(Option<String>, DecodingKey)>,
        jwks: Jwks,
        settings: JwtSettings,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            settings.ttl.as_secs() >= 1,
            "the token lifetime must be at least 1 s"
        );
        anyhow::ensure!(
            !settings.issuer.trim().is_empty() && !settings.audience.trim().is_empty(),
            "the token issuer and audience must not be empty"
        );
        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        Ok(Self {
            algorithm,
            encoding,
            signing_kid,
            decoding,
            validation,
            settings,
            jwks,
            verified: Arc::default(),
        })
    }

    /// The public keys to publish at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> &Jwks {
        &self.jwks
    }

    fn ttl_seconds(&self) -> u64 {
        self.settings.ttl.as_secs()
    }

    /// Checks the token; returns its claims and `exp` as written.
    fn decode(&self, token: &str) -> Result<(Claims, TokenClaims), InvalidToken> {
        let invalid = |why: &str| InvalidToken(why.to_owned());
        let header =
            jsonwebtoken::decode_header(token).map_err(|err| InvalidToken(err.to_string()))?;
        if header.alg != self.algorithm {
            return Err(invalid("the token is signed with another algorithm"));
        }
        let key = self
            .decoding
            .iter()
            .find(|(kid, _)| kid.is_none() || *kid == header.kid)
            .map(|(_, key)| key)
            .ok_or_else(|| invalid("the token names no known key"))?;
        let data = jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map_err(|err| InvalidToken(err.to_string()))?;
        // RFC 7515 4.1.6: a receiver must refuse a token naming critical extensions it does not
        // understand. Warden understands none, and jsonwebtoken ignores the header.
        if data.header.crit.is_some() {
            return Err(invalid("the token names critical header extensions"));
        }
        // jsonwebtoken does not check `iat`; a token "issued" in the future is not ours.
        let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
        if data.claims.iat > now.saturating_add(LEEWAY_SECONDS) {
            return Err(invalid("the token claims to be issued in the future"));
        }
        let subject =
            UserId::parse(&data.claims.sub).map_err(|_| invalid("the subject is not a user id"))?;
        let valid_until = instant(data.claims.exp.saturating_add(LEEWAY_SECONDS))?;
        let claims = TokenClaims {
            subject,
            token_version: data.claims.ver,
            valid_until,
        };
        Ok((data.claims, claims))
    }
}

fn instant(seconds: u64) -> Result<DateTime<Utc>, InvalidToken> {
    i64::try_from(seconds)
        .ok()
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        .ok_or_else(|| InvalidToken("a time claim is out of range".into()))
}

#[async_trait]
impl TokenIssuer for JwtAuth {
    async fn issue(&self, user: &User, now: DateTime<Utc>) -> Result<AccessToken, TokenError> {
        let iat = u64::try_from(now.timestamp()).map_err(TokenError::new)?;
        let claims = Claims {
            sub: user.id.to_string(),
            ver: user.token_version,
            iat,
            exp: iat.saturating_add(self.ttl_seconds()),
            nbf: None,
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
        };
        let mut header = Header::new(self.algorithm);
        header.kid.clone_from(&self.signing_kid);
        let token =
            jsonwebtoken::encode(&header, &claims, &self.encoding).map_err(TokenError::new)?;
        Ok(AccessToken::new(token, self.ttl_seconds()))
    }
}

#[async_trait]
impl AuthVerifier for JwtAuth {
    async fn verify(&self, token: &str) -> Result<TokenClaims, InvalidToken> {
        if let Some(claims) = self.verified.get(token, Utc::now()) {
            return Ok(claims);
        }
        let (_, claims) = self.decode(token)?;
        self.verified.insert(token, claims);
        Ok(claims)
    }
}

#[async_trait]
impl TokenInspector for JwtAuth {
    async fn inspect(&self, token: &str) -> Result<InspectedToken, InvalidToken> {
        let (raw, claims) = self.decode(token)?;
        Ok(InspectedToken {
            claims,
            issuer: raw.iss,
            audience: raw.aud,
            issued_at: instant(raw.iat)?,
            expires_at: instant(raw.exp)?,
        })
    }
}

impl fmt::Debug for JwtAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuth")
            .field("algorithm", &self.algorithm)
            .field("signing_kid", &self.signing_kid)
            .field("settings", &self.settings)
            .field("key", &"<redacted>")
            .finish()
    }
}
