use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;
use serde_json::Value;

use super::{ApiError, Connection, FieldError};

/// Request bodies larger than this are refused with 413.
pub const BODY_LIMIT: usize = 16 * 1024;

/// How long [`read_json`] waits for a whole body (app data; `WARDEN_BODY_TIMEOUT_MS`).
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub Duration);

impl Default for BodyTimeout {
    fn default() -> Self {
        Self(Duration::from_secs(10))
    }
}

/// Reads the request body as a JSON value, at most [`BODY_LIMIT`] bytes, within the app's
/// [`BodyTimeout`]. Handlers call this only after authentication, so an unauthenticated client
/// never gets past 401, whatever it sends.
///
/// # Errors
/// 413 for an oversized body (by `Content-Length` or as it streams in), 408 (closing the
/// connection) for a body not received in time, 422 for a body that is not JSON, 400 for a
/// broken transfer.
pub async fn read_json(req: &HttpRequest, payload: web::Payload) -> Result<Value, ApiError> {
    parse_json(&read_bytes(req, payload).await?)
}

/// The raw request body, with the limits of [`read_json`].
///
/// # Errors
/// As [`read_json`], but for the parsing.
pub async fn read_bytes(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<web::BytesMut, ApiError> {
    read_bytes_up_to(req, payload, BODY_LIMIT).await
}

/// Like [`read_bytes`], for a route that takes bodies of up to `limit` bytes (a bulk request).
///
/// # Errors
/// As [`read_bytes`], with `limit` in place of [`BODY_LIMIT`].
pub async fn read_bytes_up_to(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<web::BytesMut, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(ApiError::payload_too_large());
    }
    let timeout = req.app_data::<BodyTimeout>().copied().unwrap_or_default();
    tokio::time::timeout(timeout.0, read_body(payload, limit))
        .await
        .map_err(|_| {
            tracing::info!(timeout_ms = timeout.0.as_millis(), "request body too slow");
            // Else actix would wait for the rest of a chunked body, however long it takes.
            if let Some(connection) = Connection::of(req) {
                connection.stop_reading();
            }
            ApiError::request_timeout()
        })?
}

async fn read_body(mut payload: web::Payload, limit: usize) -> Result<web::BytesMut, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::bad_request("Could not read the request body"))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::payload_too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `body` as a JSON value (for a handler that read the raw bytes with [`read_bytes`]).
///
/// # Errors
/// 422 on `body` when it is not JSON.
pub fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|_| {
        ApiError::invalid_input(vec![FieldError::new("body", "must be a valid JSON object")])
    })
}
