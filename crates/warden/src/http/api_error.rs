use std::borrow::Cow;
use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::{json, Value};
use warden_domain::ports::StoreError;
use warden_domain::use_cases::{
    AccessError, BulkError, ChangeRoleError, DeactivateError, IssueTokenError, QueryError,
    ReactivateError,
};

/// Every error a client can see, with its public message. Internal causes are logged (inside the
/// request's span, so with its request id) when the error is made, and never leave the process.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: Cow<'static, str>,
    data: Value,
    retry_after_seconds: Option<u32>,
    /// Ends the connection after this response (`Connection: close`).
    close_connection: bool,
}

/// One invalid input field, as listed in a 422's `data.errors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: Cow<'static, str>,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

pub const INTERNAL_MESSAGE: &str = "An unexpected error occurred.";
pub const UNAVAILABLE_MESSAGE: &str = "Service temporarily unavailable";
pub const TOO_MANY_CONNECTIONS: &str = "Too many connections from your address";
pub const ADMIN_UNAUTHENTICATED: &str = "Could not validate admin credentials";
pub const USER_UNAUTHENTICATED: &str = "Could not validate credentials";

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            message: message.into(),
            data: json!({}),
            retry_after_seconds: None,
            close_connection: false,
        }
    }

    pub fn bad_request(message: &'static str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: &'static str) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "You do not have permission to access this resource",
        )
    }

    /// The caller may use the route, but the policy does not let it act on this account (a
    /// helpdesk on an admin or helpdesk account).
    pub fn forbidden_target() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "You do not have permission to act on this account",
        )
    }

    pub fn invalid_input(errors: Vec<FieldError>) -> Self {
        let mut error = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid input");
        error.data = json!({ "errors": errors });
        error
    }

    pub fn payload_too_large() -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "Request body is too large")
    }

    /// A 408 for a body that did not arrive in time. The connection is closed: the rest of the
    /// body may still be on its way, so nothing after it could be read as a new request.
    pub fn request_timeout() -> Self {
        let mut error = Self::new(StatusCode::REQUEST_TIMEOUT, "Request timeout");
        error.close_connection = true;
        error
    }

    /// A 503 for a connection over `WARDEN_MAX_CONNECTIONS_PER_IP`, which is then closed.
    pub fn too_many_connections() -> Self {
        let mut error = Self::new(StatusCode::SERVICE_UNAVAILABLE, TOO_MANY_CONNECTIONS);
        error.retry_after_seconds = Some(1);
        error.close_connection = true;
        error
    }

    /// A 500 whose cause is logged here and never shown.
    pub fn internal(cause: &dyn fmt::Debug) -> Self {
        tracing::error!(cause = ?cause, "request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_MESSAGE)
    }

    /// A 503 for a dependency that may come back; clients are told when to retry.
    pub fn unavailable(cause: &dyn fmt::Debug) -> Self {
        tracing::warn!(cause = ?cause, "dependency unavailable");
        let mut error = Self::new(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE_MESSAGE);
        error.retry_after_seconds = Some(1);
        error
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The client-visible message.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn data(&self) -> &Value {
        &self.data
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let body = super::Envelope::new(self.status, self.message.clone(), self.data.clone());
        let mut response = HttpResponse::build(self.status);
        if let Some(seconds) = self.retry_after_seconds {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if self.close_connection {
            response.force_close();
        }
        response.json(body)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => Self::unavailable(&error),
            // Conflict, Other, and whatever a later version adds.
            _ => Self::internal(&error),
        }
    }
}

impl ApiError {
    /// For routes open to any signed-in account.
    pub fn user_access(error: AccessError) -> Self {
        access(error, USER_UNAUTHENTICATED)
    }
}

/// For admin routes.
impl From<AccessError> for ApiError {
    fn from(error: AccessError) -> Self {
        access(error, ADMIN_UNAUTHENTICATED)
    }
}

fn access(error: AccessError, unauthenticated: &'static str) -> ApiError {
    match error {
        AccessError::Unauthenticated(why) => {
            tracing::info!(why = %why, "credentials refused");
            ApiError::new(StatusCode::UNAUTHORIZED, unauthenticated)
        }
        AccessError::Forbidden => ApiError::forbidden(),
        AccessError::Store(store) => store.into(),
        other => ApiError::internal(&other),
    }
}

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> Self {
        match error {
            QueryError::NotFound => Self::not_found("User not found"),
            QueryError::Store(store) => store.into(),
            other => Self::internal(&other),
        }
    }
}

impl From<DeactivateError> for ApiError {
    fn from(error: DeactivateError) -> Self {
        match error {
            DeactivateError::NotFound => Self::not_found("User not found"),
            DeactivateError::AlreadyDeactivated => Self::bad_request("User is already deactivated"),
            DeactivateError::SelfDeactivation => {
                Self::bad_request("You cannot deactivate your own account")
            }
            DeactivateError::LastActiveAdmin => {
                Self::bad_request("Cannot deactivate the last active admin")
            }
            DeactivateError::ActorRevoked => revoked_at_commit(),
            DeactivateError::TargetForbidden => Self::forbidden_target(),
            DeactivateError::InvalidUntil(invalid) => {
                Self::invalid_input(vec![FieldError::new("until", invalid.to_string())])
            }
            DeactivateError::Store(store) => store.into(),
            other => Self::internal(&other),
        }
    }
}

/// The admin was authenticated when the request began but had lost that authority (deactivated,
/// demoted, tokens revoked) by the time the change was to commit: refused like a bad token.
/// The acting admin's authority no longer held when the change was to commit: a 401, as if
/// the request had come a moment later.
pub fn revoked_at_commit() -> ApiError {
    let why = "the actor's authority was withdrawn before commit".to_owned();
    ApiError::from(AccessError::Unauthenticated(why))
}

impl From<BulkError> for ApiError {
    fn from(error: BulkError) -> Self {
        match error {
            BulkError::WrongCount => Self::invalid_input(vec![FieldError::new(
                "user_ids",
                "must list 1 to 10000 user ids",
            )]),
            BulkError::InvalidUntil(invalid) => {
                Self::invalid_input(vec![FieldError::new("until", invalid.to_string())])
            }
            BulkError::NoGrant => Self::forbidden(),
            BulkError::ActorRevoked => revoked_at_commit(),
            BulkError::Store(store) => store.into(),
            other => Self::internal(&other),
        }
    }
}

impl From<ReactivateError> for ApiError {
    fn from(error: ReactivateError) -> Self {
        match error {
            ReactivateError::NotFound => Self::not_found("User not found"),
            ReactivateError::AlreadyActive => Self::bad_request("User is already active"),
            ReactivateError::ActorRevoked => revoked_at_commit(),
            ReactivateError::TargetForbidden => Self::forbidden_target(),
            ReactivateError::Store(store) => store.into(),
            other => Self::internal(&other),
        }
    }
}

impl From<ChangeRoleError> for ApiError {
    fn from(error: ChangeRoleError) -> Self {
        match error {
            ChangeRoleError::NotFound => Self::not_found("User not found"),
            ChangeRoleError::AlreadyHasRole => Self::bad_request("User already has this role"),
            ChangeRoleError::OwnRole => Self::bad_request("You cannot change your own role"),
            ChangeRoleError::LastActiveAdmin => {
                Self::bad_request("Cannot remove the last active admin")
            }
            ChangeRoleError::ActorRevoked => revoked_at_commit(),
            ChangeRoleError::Store(store) => store.into(),
            other => Self::internal(&other),
        }
    }
}

impl From<IssueTokenError> for ApiError {
    fn from(error: IssueTokenError) -> Self {
        match error {
            IssueTokenError::InvalidCredentials => {
                Self::new(StatusCode::UNAUTHORIZED, "Invalid email or password")
            }
            IssueTokenError::Deactivated => {
                Self::new(StatusCode::FORBIDDEN, "User account is deactivated")
            }
            IssueTokenError::Throttled {
                retry_after_seconds,
            } => {
                tracing::warn!(retry_after_seconds, "sign-in throttled");
                let mut error = Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many failed login attempts, try again later",
                );
                error.retry_after_seconds =
                    Some(u32::try_from(retry_after_seconds).unwrap_or(u32::MAX));
                error
            }
            IssueTokenError::Busy => Self::unavailable(&error),
            IssueTokenError::Store(store) => store.into(),
            _ => Self::internal(&error),
        }
    }
}
