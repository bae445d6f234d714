//! OpenAPI-only descriptions of bodies that handlers parse by hand (so that they can list every
//! bad field), and of the response envelope. Nothing here is used at run time.

use utoipa::ToSchema;

/// The envelope every response has.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Envelope<T> {
    /// `success` for 2xx, else `error`.
    #[schema(example = "success")]
    status: Outcome,
    /// Always equal to the HTTP status.
    #[schema(example = 200)]
    status_code: u16,
    message: String,
    data: T,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum Outcome {
    Success,
    Error,
}

/// An empty object.
#[derive(ToSchema)]
pub struct Empty {}

/// The `data` of a 422.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct InvalidInput {
    errors: Vec<InvalidField>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct InvalidField {
    /// `body` when the body is not a JSON object, else the field's name.
    #[schema(example = "user_id")]
    field: String,
    #[schema(example = "is required")]
    message: String,
}

/// Body of `PATCH /api/v1/users/deactivate` and `/reactivate`. Other fields are ignored.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct StatusChangeRequest {
    /// The account's id (a UUID; anything else is "User not found"). Blank is refused.
    #[schema(
        min_length = 1,
        pattern = r"\S",
        example = "0193a1c4-7f7e-7d1a-9a4e-2f1c3b5d6e7f"
    )]
    user_id: String,
    /// Why; stored, shown to admins and quoted in the email. Trimmed; blank means none. No
    /// control characters other than tabs and line breaks, and no invisible format characters
    /// (Unicode category Cf: direction overrides, zero-width characters, tags; the pattern lists
    /// those of the Basic Multilingual Plane, the server refuses all of them). Its `maxLength`
    /// and `pattern` come from the domain (`openapi::DomainLimits`).
    #[schema(example = "Terms of service violation")]
    reason: Option<String>,
    /// Deactivation only (a reactivation ignores it): a timed suspension's end, RFC 3339, in the
    /// future and at most ten years ahead (else 422 on `until`). The system reactivates the
    /// account then; a manual reactivation before cancels it.
    #[schema(format = DateTime, example = "2026-12-07T12:00:00Z")]
    until: Option<String>,
}

/// Body of `PATCH /api/v1/users/role`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RoleChangeRequest {
    /// The account's id (a UUID; anything else is "User not found"). Blank is refused.
    #[schema(
        min_length = 1,
        pattern = r"\S",
        example = "0193a1c4-7f7e-7d1a-9a4e-2f1c3b5d6e7f"
    )]
    user_id: String,
    /// The role the account gets.
    role: RoleName,
    /// Why; stored and shown to admins, with the same rules as a deactivation's reason. Its
    /// `maxLength` and `pattern` come from the domain (`openapi::DomainLimits`).
    #[schema(example = "Joined the support team")]
    reason: Option<String>,
}

/// A role.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum RoleName {
    Admin,
    Helpdesk,
    User,
}

/// Body of `POST /api/v1/auth/login`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct LoginRequest {
    /// Blank is refused.
    #[schema(min_length = 1, pattern = r"\S", example = "ada@example.com")]
    email: String,
    /// Blank is refused.
    #[schema(min_length = 1, pattern = r"\S", example = "ada-password")]
    password: String,
}

/// Failures every admin route can answer with.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum AdminFailures {
    /// `Could not validate admin credentials`: missing, malformed, forged, expired or revoked
    /// token, or an unknown or deactivated caller. Checked before the body is read.
    #[response(status = 401)]
    Unauthenticated(Envelope<Empty>),
    /// `You do not have permission to access this resource`: the caller is not an admin.
    #[response(status = 403)]
    Forbidden(Envelope<Empty>),
    /// `User not found`, including ids that are not UUIDs.
    #[response(status = 404)]
    NotFound(Envelope<Empty>),
    /// `An unexpected error occurred.` Details are logged under the `x-request-id`.
    #[response(status = 500)]
    Internal(Envelope<Empty>),
    /// `Service temporarily unavailable`: the database did not answer in time.
    #[response(status = 503, headers(("Retry-After" = u32, description = "Seconds to wait")))]
    Unavailable(Envelope<Empty>),
}

/// Failures of an admin route that names no user (listings, outbox, clients), besides its own.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum AdminListFailures {
    /// `Could not validate admin credentials`: missing, malformed, forged, expired or revoked
    /// token (a machine client's token included: admin routes take admins only), or an unknown
    /// or deactivated caller.
    #[response(status = 401)]
    Unauthenticated(Envelope<Empty>),
    /// `You do not have permission to access this resource`: the caller is not an admin.
    #[response(status = 403)]
    Forbidden(Envelope<Empty>),
    /// `An unexpected error occurred.` Details are logged under the `x-request-id`.
    #[response(status = 500)]
    Internal(Envelope<Empty>),
    /// `Service temporarily unavailable`: the database did not answer in time.
    #[response(status = 503, headers(("Retry-After" = u32, description = "Seconds to wait")))]
    Unavailable(Envelope<Empty>),
}

/// Failures of a route that reads a JSON body.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum BodyFailures {
    /// `Request timeout`: the body did not arrive within `WARDEN_BODY_TIMEOUT_MS`; the
    /// connection is closed.
    #[response(status = 408, headers(("Connection" = String, description = "`close`")))]
    Timeout(Envelope<Empty>),
    /// `Request body is too large`: over 16 KiB.
    #[response(status = 413)]
    TooLarge(Envelope<Empty>),
    /// `Invalid input`: `data.errors` lists each bad field.
    #[response(status = 422)]
    Invalid(Envelope<InvalidInput>),
}
