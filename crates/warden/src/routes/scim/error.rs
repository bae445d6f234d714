//! SCIM errors (RFC 7644 3.12): `{"schemas": [Error], "status": "404", "scimType": ...,
//! "detail": ...}`, with `status` a string, in `application/scim+json`. Every answer under
//! `/scim/v2` that is not a success is one of these, never the envelope.

use std::borrow::Cow;
use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use warden_domain::ports::StoreError;
use warden_domain::use_cases::{ClientAccessError, ProvisionError};

use super::CONTENT_TYPE;
use crate::http::{ApiError, INTERNAL_MESSAGE, UNAVAILABLE_MESSAGE};

pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The body of a SCIM error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScimErrorBody {
    /// `["urn:ietf:params:scim:api:messages:2.0:Error"]`
    schemas: [&'static str; 1],
    /// The HTTP status, as a string (`"404"`).
    #[schema(example = "404")]
    status: String,
    /// `invalidFilter`, `uniqueness`, `mutability`, `invalidSyntax`, `invalidPath`,
    /// `noTarget` or `invalidValue`, for some 400 and 409 answers.
    #[serde(rename = "scimType", skip_serializing_if = "Option::is_none")]
    scim_type: Option<&'static str>,
    /// What went wrong, in words.
    detail: String,
}

/// A refusal under `/scim/v2`.
#[derive(Debug)]
pub struct ScimError {
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: Cow<'static, str>,
}

impl ScimError {
    pub fn new(status: StatusCode, detail: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            scim_type: None,
            detail: detail.into(),
        }
    }

    /// A 400 with a `scimType`.
    pub fn bad_request(scim_type: &'static str, detail: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            scim_type: Some(scim_type),
            detail: detail.into(),
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Authentication required: a client token with the scim scope",
        )
    }

    /// A 500 whose cause is logged here and never shown.
    pub fn internal(cause: &dyn fmt::Debug) -> Self {
        tracing::error!(cause = ?cause, "SCIM request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_MESSAGE)
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    fn body(&self) -> ScimErrorBody {
        ScimErrorBody {
            schemas: [ERROR_SCHEMA],
            status: self.status.as_u16().to_string(),
            scim_type: self.scim_type,
            detail: self.detail.to_string(),
        }
    }
}

impl fmt::Display for ScimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.detail)
    }
}

impl ResponseError for ScimError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response
            .content_type(CONTENT_TYPE)
            .insert_header((header::CACHE_CONTROL, "no-store"));
        match self.status {
            StatusCode::UNAUTHORIZED => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"warden\""));
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            // The rest of a late body may still be on its way: nothing after it could be read
            // as a new request.
            StatusCode::REQUEST_TIMEOUT => {
                response.force_close();
            }
            _ => {}
        }
        match serde_json::to_vec(&self.body()) {
            Ok(body) => response.body(body),
            Err(_) => response.finish(),
        }
    }
}

impl From<StoreError> for ScimError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => {
                tracing::warn!(cause = ?error, "dependency unavailable");
                Self::new(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE_MESSAGE)
            }
            _ => Self::internal(&error),
        }
    }
}

/// The refusals of the shared HTTP helpers (body too large or too slow), in SCIM's format.
impl From<ApiError> for ScimError {
    fn from(error: ApiError) -> Self {
        let status = error.status();
        let detail = status.canonical_reason().unwrap_or("Error");
        Self::new(status, detail)
    }
}

impl From<ClientAccessError> for ScimError {
    fn from(error: ClientAccessError) -> Self {
        match error {
            ClientAccessError::Unauthenticated(why) => {
                tracing::info!(why, "SCIM client credentials refused");
                Self::unauthorized()
            }
            ClientAccessError::Forbidden(_) => Self::new(
                StatusCode::FORBIDDEN,
                "The client token lacks the scim scope",
            ),
            ClientAccessError::Store(error) => error.into(),
            other => Self::internal(&other),
        }
    }
}

impl From<ProvisionError> for ScimError {
    fn from(error: ProvisionError) -> Self {
        match error {
            ProvisionError::NotFound => Self::new(StatusCode::NOT_FOUND, "User not found"),
            ProvisionError::InvalidEmail => {
                Self::bad_request("invalidValue", "userName must be an email address")
            }
            ProvisionError::InvalidName => Self::bad_request(
                "invalidValue",
                "name.givenName and name.familyName must be at most 100 characters, without control characters",
            ),
            ProvisionError::InvalidExternalId(_) => Self::bad_request(
                "invalidValue",
                "externalId must be at most 255 characters, without control characters",
            ),
            ProvisionError::EmailTaken => Self {
                status: StatusCode::CONFLICT,
                scim_type: Some("uniqueness"),
                detail: "A user with this userName already exists".into(),
            },
            // The domain's refusal, worded as the admin API words it.
            ProvisionError::LastActiveAdmin => {
                Self::bad_request("mutability", "Cannot deactivate the last active admin")
            }
            // The client was revoked while the request was in flight.
            ProvisionError::ActorRevoked => Self::unauthorized(),
            // The policy: an admin or helpdesk account needs a client with `scim.privileged`.
            ProvisionError::TargetForbidden => Self::new(
                StatusCode::FORBIDDEN,
                "This client may not change administrator or helpdesk accounts (it needs the scim.privileged scope)",
            ),
            ProvisionError::Store(error) => error.into(),
            other => Self::internal(&other),
        }
    }
}

#[cfg(test)]
impl ScimError {
    pub fn body_for_tests(&self) -> ScimErrorBody {
        self.body()
    }
}
