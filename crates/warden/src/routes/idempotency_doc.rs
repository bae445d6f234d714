//! OpenAPI-only descriptions of `Idempotency-Key` (see `http::idempotency`): the request header
//! and the answers it adds. Nothing here is used at run time.

use utoipa::IntoParams;

use utoipa::ToSchema;

use super::schemas::{Empty, Envelope, InvalidField};

/// The 422 description of a route that accepts `Idempotency-Key`.
pub const KEYED_422: &str = "`Invalid input`: `data.errors` lists each bad field (`Idempotency-Key` for a malformed key); or `Idempotency key reused with a different request` (`data` empty): the key was first used with another body";

/// The `Idempotency-Key` request header.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct IdempotencyKeyHeader {
    /// Makes the request safe to retry: the same key from the same admin with the same body
    /// (byte for byte) within 24 h replays the first answer instead of acting again. 1 to 255
    /// visible ASCII characters; anything else is 422 `Invalid input` on `Idempotency-Key`.
    #[param(
        rename = "Idempotency-Key",
        min_length = 1,
        max_length = 255,
        pattern = r"^[!-~]{1,255}$",
        example = "8e03978e-40d5-43e8-bc93-6894a57f9324"
    )]
    idempotency_key: Option<String>,
}

/// The `data` of a 422 on a route that accepts `Idempotency-Key`: `errors` for `Invalid input`,
/// none for a reused key.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct KeyedInvalidInput {
    errors: Option<Vec<InvalidField>>,
}

/// Failures of a route that reads a JSON body and accepts `Idempotency-Key` (in place of
/// `BodyFailures`); its 422 is listed on the route itself, with a [`KeyedInvalidInput`] (so
/// that the schema is collected into the document).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum IdempotencyFailures {
    /// `A request with this idempotency key is in progress`: the first request with this key
    /// has not answered yet; retry later.
    #[response(status = 409)]
    InProgress(Envelope<Empty>),
    /// `Request timeout`: the body did not arrive within `WARDEN_BODY_TIMEOUT_MS`; the
    /// connection is closed.
    #[response(status = 408, headers(("Connection" = String, description = "`close`")))]
    Timeout(Envelope<Empty>),
    /// `Request body is too large`: over 16 KiB.
    #[response(status = 413)]
    TooLarge(Envelope<Empty>),
}
