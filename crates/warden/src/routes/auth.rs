use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::schemas::{BodyFailures, Empty, Envelope as Doc, LoginRequest};
use super::views::UserView;
use crate::http::{client_key, read_json, ApiError, Envelope, Fields, TrustedProxies, UserCaller};
use crate::run::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenView {
    access_token: String,
    #[schema(value_type = String, example = "bearer")]
    token_type: &'static str,
    expires_in: u64,
}

/// Sign in with email and password; returns a bearer access token.
#[utoipa::path(
    post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "`Login successful`", body = Doc<TokenView>),
        (status = 400, description = "`Could not read the request body`: the upload broke off", body = Doc<Empty>),
        (status = 401, description = "`Invalid email or password` (the same for an unknown email)", body = Doc<Empty>),
        (status = 403, description = "`User account is deactivated` (only with the right password)", body = Doc<Empty>),
        (status = 429, description = "`Too many failed login attempts, try again later`: this account from this client, or this client, failed too often lately", body = Doc<Empty>,
            headers(("Retry-After" = u32, description = "Seconds until the next attempt is allowed"))),
        (status = 500, description = "`An unexpected error occurred.`", body = Doc<Empty>),
        (status = 503, description = "`Service temporarily unavailable`: the database, or every password-hashing slot stayed busy for `WARDEN_HASH_WAIT_MS`", body = Doc<Empty>,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
        BodyFailures,
    )
)]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let mut fields = Fields::of(read_json(&req, body).await?)?;
    let email = fields.required_string("email");
    let password = fields.required_string("password");
    let (email, password) = fields.finish(email.zip(password))?;
    let trusted = req.app_data::<web::Data<TrustedProxies>>();
    let client = client_key(&req, trusted.map_or(&TrustedProxies::default(), |t| t));
    let token = state
        .services
        .issue_token
        .login(&email, &password, &client)
        .await?;
    Ok(Envelope::ok_with(
        "Login successful",
        TokenView {
            access_token: token.expose().to_owned(),
            token_type: "bearer",
            expires_in: token.expires_in_seconds,
        },
    ))
}

/// The signed-in account's profile and status.
#[utoipa::path(
    get, path = "/api/v1/users/me", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`User retrieved successfully`", body = Doc<UserView>),
        (status = 401, description = "`Could not validate credentials`", body = Doc<Empty>),
        (status = 500, description = "`An unexpected error occurred.`", body = Doc<Empty>),
        (status = 503, description = "`Service temporarily unavailable`", body = Doc<Empty>,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
    )
)]
pub async fn me(UserCaller(user): UserCaller) -> Result<HttpResponse, ApiError> {
    Ok(Envelope::ok_with(
        "User retrieved successfully",
        UserView::from(&user),
    ))
}
