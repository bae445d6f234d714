use actix_web::http::header;
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;
use serde_json::Value;

use super::{ApiError, FieldError};

/// Request bodies larger than this are refused with 413.
pub const BODY_LIMIT: usize = 16 * 1024;

/// Reads the request body as a JSON value, at most [`BODY_LIMIT`] bytes. Handlers call this only
/// after authentication, so an unauthenticated client never gets past 401, whatever it sends.
///
/// # Errors
/// 413 for an oversized body (by `Content-Length` or as it streams in), 422 for a body that is
/// not JSON, 400 for a broken transfer.
pub async fn read_json(req: &HttpRequest, mut payload: web::Payload) -> Result<Value, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > BODY_LIMIT) {
        return Err(ApiError::payload_too_large());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::bad_request("Could not read the request body"))?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(ApiError::payload_too_large());
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|_| {
        ApiError::invalid_input(vec![FieldError::new("body", "must be a valid JSON object")])
    })
}
