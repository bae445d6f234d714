//! The standard endpoints other services call, answering in their standards' formats (not the
//! envelope): token introspection (RFC 7662) for clients with the `introspect` scope, and the
//! JSON Web Key Set (RFC 7517) that verifies EdDSA tokens offline.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::json;
use warden_domain::use_cases::{
    AuthenticatedClient, ClientAccessError, IntrospectError, Introspection,
};
use warden_domain::Scope;

use super::schemas::{Empty, Envelope as Doc};
use crate::http::{bearer_token, read_bytes, ApiError};
use crate::run::state::AppState;

/// Body of `POST /oauth2/introspect` (`application/x-www-form-urlencoded`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct IntrospectionRequest {
    /// The access token asked about.
    #[schema(min_length = 1)]
    token: String,
    /// Accepted and ignored: Warden has only access tokens.
    token_type_hint: Option<String>,
}

/// RFC 7662's answer. An inactive token gives `{"active": false}` and nothing else.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IntrospectionResponse {
    active: bool,
    /// The user's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    /// Expiry, Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    /// Issue time, Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
    /// `access_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
    /// The user's role now: `admin` or `user`.
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
}

impl IntrospectionResponse {
    fn inactive() -> Self {
        Self {
            active: false,
            sub: None,
            exp: None,
            iat: None,
            iss: None,
            aud: None,
            token_type: None,
            role: None,
        }
    }
}

/// An OAuth error (RFC 6749 5.2, RFC 6750 3.1).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client` or `insufficient_scope`.
    #[schema(example = "invalid_client")]
    error: &'static str,
}

/// The public keys that verify EdDSA access tokens. Empty under HS256.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct JwksDoc {
    keys: Vec<JwkDoc>,
}

/// An Ed25519 public key (RFC 8037) that verifies access tokens, or the RSA key that signs
/// Security Event Tokens (SSF; `kty` `RSA`, `alg` `RS256`, with `n` and `e` instead of `crv`
/// and `x`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct JwkDoc {
    /// `OKP`, or `RSA` for the SET key.
    kty: String,
    /// `Ed25519` (not on the SET key).
    crv: Option<String>,
    /// The public key, base64url (not on the SET key).
    x: Option<String>,
    /// The SET key's modulus and exponent, base64url.
    n: Option<String>,
    e: Option<String>,
    /// The key's RFC 7638 thumbprint; tokens name their key by it in the `kid` header.
    kid: String,
    /// `EdDSA`, or `RS256` for the SET key.
    alg: String,
    /// `sig`.
    #[schema(rename = "use")]
    use_: String,
}

/// Whether an access token is active now: signed by Warden, unexpired, not revoked by a status
/// change, and its account active. Authenticated by a client's bearer token with the
/// `introspect` scope.
#[utoipa::path(
    post, path = "/oauth2/introspect", tag = "oauth2",
    security(("client" = [])),
    request_body(content = IntrospectionRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "RFC 7662: `{\"active\": true, ...}` or `{\"active\": false}`", body = IntrospectionResponse),
        (status = 400, description = "`invalid_request`: no `token`, or a body that is not a form", body = OAuthError),
        (status = 401, description = "`invalid_client`: no client token, or an unknown or revoked one", body = OAuthError,
            headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"warden\"`"))),
        (status = 403, description = "`insufficient_scope`: the client lacks the `introspect` scope", body = OAuthError,
            headers(("WWW-Authenticate" = String, description = "`Bearer error=\"insufficient_scope\", scope=\"introspect\"`"))),
        (status = 408, description = "`Request timeout` (envelope): the body did not arrive in time", body = Doc<Empty>),
        (status = 413, description = "`Request body is too large` (envelope): over 16 KiB", body = Doc<Empty>),
        (status = 500, description = "`An unexpected error occurred.` (envelope)", body = Doc<Empty>),
        (status = 503, description = "`Service temporarily unavailable` (envelope)", body = Doc<Empty>,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
    )
)]
pub async fn introspect(
    state: web::Data<AppState>,
    Introspector(client): Introspector,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_bytes(&req, body).await?;
    let Some(token) = form_token(&body) else {
        return Ok(oauth_error(StatusCode::BAD_REQUEST, "invalid_request", ""));
    };
    let answer = match state.services.introspect.execute(&client, &token).await {
        Ok(Introspection::Active { token, user }) => IntrospectionResponse {
            active: true,
            sub: Some(user.id.to_string()),
            exp: Some(token.expires_at.timestamp()),
            iat: Some(token.issued_at.timestamp()),
            iss: Some(token.issuer),
            aud: Some(token.audience),
            token_type: Some("access_token"),
            role: Some(user.role.as_str()),
        },
        Ok(Introspection::Inactive) => IntrospectionResponse::inactive(),
        Err(IntrospectError::Forbidden) => return Ok(insufficient_scope()),
        Err(IntrospectError::Store(error)) => return Err(error.into()),
        Err(other) => return Err(ApiError::internal(&other)),
    };
    Ok(no_store(HttpResponse::Ok()).json(answer))
}

/// The public keys that verify Warden's access tokens (RFC 7517), none under HS256 (a shared
/// secret is never published), and the key that signs Security Event Tokens (SSF: `RS256`,
/// `kty` `RSA`), which verifies SETs only.
#[utoipa::path(
    get, path = "/.well-known/jwks.json", tag = "oauth2",
    responses(
        (status = 200, description = "The JSON Web Key Set", body = JwksDoc),
    )
)]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    let access = state.services.jwks.keys.iter().map(serde_json::to_value);
    let set_key = serde_json::to_value(state.services.ssf.key.public_jwk());
    match access.chain([set_key]).collect::<Result<Vec<_>, _>>() {
        Ok(keys) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
            .json(serde_json::json!({ "keys": keys })),
        Err(error) => actix_web::ResponseError::error_response(&ApiError::internal(&error)),
    }
}

/// The one `token` field of a form body; `None` when missing, repeated, empty, or the body is
/// not a form.
fn form_token(body: &[u8]) -> Option<String> {
    let mut tokens = url::form_urlencoded::parse(body)
        .filter(|(name, _)| name == "token")
        .map(|(_, value)| value.into_owned());
    let token = tokens.next()?;
    (tokens.next().is_none() && !token.is_empty()).then_some(token)
}

/// A machine client with the `introspect` scope, checked before the body is read; refused in
/// OAuth's own format (RFC 6750): 401 `invalid_client`, 403 `insufficient_scope`.
#[derive(Debug)]
pub struct Introspector(pub AuthenticatedClient);

/// Why an [`Introspector`] was refused, answered as OAuth answers (or, for a store failure, in
/// the envelope).
#[derive(Debug)]
pub enum ClientRefusal {
    Unauthenticated,
    InsufficientScope,
    Failed(ApiError),
}

impl std::fmt::Display for ClientRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unauthenticated => f.write_str("invalid_client"),
            Self::InsufficientScope => f.write_str("insufficient_scope"),
            Self::Failed(error) => write!(f, "{error}"),
        }
    }
}

impl actix_web::ResponseError for ClientRefusal {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::InsufficientScope => StatusCode::FORBIDDEN,
            Self::Failed(error) => error.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Unauthenticated => oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Bearer realm=\"warden\"",
            ),
            Self::InsufficientScope => insufficient_scope(),
            Self::Failed(error) => error.error_response(),
        }
    }
}

impl actix_web::FromRequest for Introspector {
    type Error = ClientRefusal;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, ClientRefusal>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let Some(state) = req.app_data::<web::Data<AppState>>() else {
                let missing = ApiError::internal(&"the application state is not registered");
                return Err(ClientRefusal::Failed(missing));
            };
            let auth = &state.services.client_auth;
            match auth.client(bearer_token(&req), Scope::Introspect).await {
                Ok(client) => Ok(Introspector(client)),
                Err(ClientAccessError::Unauthenticated(why)) => {
                    tracing::info!(why, "client credentials refused");
                    Err(ClientRefusal::Unauthenticated)
                }
                Err(ClientAccessError::Forbidden(_)) => Err(ClientRefusal::InsufficientScope),
                Err(ClientAccessError::Store(error)) => Err(ClientRefusal::Failed(error.into())),
                Err(other) => Err(ClientRefusal::Failed(ApiError::internal(&other))),
            }
        })
    }
}

fn insufficient_scope() -> HttpResponse {
    oauth_error(
        StatusCode::FORBIDDEN,
        "insufficient_scope",
        "Bearer error=\"insufficient_scope\", scope=\"introspect\"",
    )
}

fn oauth_error(status: StatusCode, error: &'static str, challenge: &str) -> HttpResponse {
    let mut response = no_store(HttpResponse::build(status));
    if !challenge.is_empty() {
        response.insert_header((header::WWW_AUTHENTICATE, challenge.to_owned()));
    }
    response.json(json!(OAuthError { error }))
}

/// Answers about credentials are never cached (RFC 6749 5.1).
fn no_store(mut response: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_one_non_empty_form_field() {
        assert_eq!(form_token(b"token=a.b.c").as_deref(), Some("a.b.c"));
        assert_eq!(
            form_token(b"token_type_hint=access_token&token=a%2Bb").as_deref(),
            Some("a+b")
        );
        for bad in [
            &b""[..],
            b"token=",
            b"token=a&token=b",
            b"tok=a",
            b"{\"token\":\"a\"}",
        ] {
            assert_eq!(form_token(bad), None, "{bad:?}");
        }
    }
}
