use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::views::UserView;
use crate::http::{bearer_token, read_json, ApiError, Envelope, Fields};
use crate::state::AppState;

#[derive(Debug, Serialize)]
struct TokenView {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
}

/// `POST /api/v1/auth/login` `{"email", "password"}`
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let mut fields = Fields::of(read_json(&req, body).await?)?;
    let email = fields.required_string("email");
    let password = fields.required_string("password");
    let (email, password) = fields.finish(email.zip(password))?;
    let token = state.services.issue_token.login(&email, &password).await?;
    Ok(Envelope::ok_with(
        "Login successful",
        TokenView {
            access_token: token.expose().to_owned(),
            token_type: "bearer",
            expires_in: token.expires_in_seconds,
        },
    ))
}

/// `GET /api/v1/users/me`: the signed-in account.
pub async fn me(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let user = state
        .services
        .auth
        .user(bearer_token(&req))
        .await
        .map_err(ApiError::user_access)?;
    tracing::Span::current().record("actor_id", tracing::field::display(user.id));
    Ok(Envelope::ok_with(
        "User retrieved successfully",
        UserView::from(&user),
    ))
}
