//! SCIM errors (RFC 7644 3.12): `{"schemas": [Error], "status": "404", "scimType": ...,
//! "detail": ...}`, with `status` a string, in `application/scim+json`. Every answer under
//! `/scim/v2` that is not a success is one of these, never the envelope. The HTTP status is a
//! number here; the web server sends it (and the headers its status calls for).

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;
use warden_domain::ports::StoreError;
use warden_domain::use_cases::{ClientAccessError, ProvisionError};

/// The detail of a 500 (the cause is logged, never shown); the same words as Warden's API.
pub const INTERNAL_MESSAGE: &str = "An unexpected error occurred.";
/// The detail of a 503; the same words as Warden's API.
pub const UNAVAILABLE_MESSAGE: &str = "Service temporarily unavailable";

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
    status: u16,
    scim_type: Option<&'static str>,
    detail: Cow<'static, str>,
}

impl ScimError {
    pub fn new(status: u16, detail: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            scim_type: None,
            detail: detail.into(),
        }
    }

    /// A 400 with a `scimType`.
    pub fn bad_request(scim_type: &'static str, detail: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status: 400,
            scim_type: Some(scim_type),
            detail: detail.into(),
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(404, format!("{what} not found"))
    }

    pub fn unauthorized() -> Self {
        Self::new(
            401,
            "Authentication required: a client token with the scim scope",
        )
    }

    /// A 412: the resource is not at the version `If-Match` names (RFC 7644 3.14).
    pub fn precondition_failed() -> Self {
        Self::new(
            412,
            "The User changed since the version in If-Match: read it again",
        )
    }

    /// A 500 whose cause is logged here and never shown.
    pub fn internal(cause: &dyn fmt::Debug) -> Self {
        tracing::error!(cause = ?cause, "SCIM request failed");
        Self::new(500, INTERNAL_MESSAGE)
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The `scimType`, if this refusal has one.
    pub fn scim_type(&self) -> Option<&'static str> {
        self.scim_type
    }

    /// What is sent.
    pub fn body(&self) -> ScimErrorBody {
        ScimErrorBody {
            schemas: [ERROR_SCHEMA],
            status: self.status.to_string(),
            scim_type: self.scim_type,
            detail: self.detail.to_string(),
        }
    }
}

impl fmt::Display for ScimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.detail)
    }
}

impl From<StoreError> for ScimError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => {
                tracing::warn!(cause = ?error, "dependency unavailable");
                Self::new(503, UNAVAILABLE_MESSAGE)
            }
            _ => Self::internal(&error),
        }
    }
}

impl From<ClientAccessError> for ScimError {
    fn from(error: ClientAccessError) -> Self {
        match error {
            ClientAccessError::Unauthenticated(why) => {
                tracing::info!(why, "SCIM client credentials refused");
                Self::unauthorized()
            }
            ClientAccessError::Forbidden(_) => {
                Self::new(403, "The client token lacks the scim scope")
            }
            ClientAccessError::Store(error) => error.into(),
            other => Self::internal(&other),
        }
    }
}

impl From<ProvisionError> for ScimError {
    fn from(error: ProvisionError) -> Self {
        match error {
            ProvisionError::NotFound => Self::new(404, "User not found"),
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
                status: 409,
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
                403,
                "This client may not change administrator or helpdesk accounts (it needs the scim.privileged scope)",
            ),
            ProvisionError::VersionChanged => Self::precondition_failed(),
            ProvisionError::Store(error) => error.into(),
            other => Self::internal(&other),
        }
    }
}
