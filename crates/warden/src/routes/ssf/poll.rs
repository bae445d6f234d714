//! `POST /ssf/poll/{stream_id}`: RFC 8936 poll delivery for the stream's owner.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use warden_ssf::poll::{poll_request, poll_response};

use super::{answer, json_body, Reader, SsfError};
use crate::run::state::AppState;

/// Acknowledges (`ack`) and reports (`setErrs`) SETs, then returns up to `maxEvents` SETs still
/// owed, oldest first: `{"sets": {jti: SET}, "moreAvailable"}`. Unacknowledged SETs come
/// again; acknowledged ones never. A paused stream returns none (it holds them).
#[utoipa::path(post, path = "/ssf/poll/{stream_id}", tag = "ssf",
    params(("stream_id" = String, Path, description = "The poll stream")),
    responses((status = 200, description = "`{sets, moreAvailable}`"),
              (status = 404, description = "No such poll stream of the caller's"),
              (status = 401, description = "No client token, or an unknown or revoked one"),
              (status = 403, description = "The client lacks the scope")))]
pub async fn poll(
    state: web::Data<AppState>,
    caller: Reader,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, SsfError> {
    let id = uuid::Uuid::parse_str(&path.into_inner()).map_err(|_| SsfError::NotFound)?;
    let body = if body.is_empty() {
        serde_json::json!({})
    } else {
        json_body(&body)?
    };
    let request = poll_request(&body)?;
    let transmitter = &state.services.ssf;
    let Some(stream) = transmitter.streams.stream(caller.0.client, id).await? else {
        return Err(SsfError::NotFound);
    };
    let (sets, more) = transmitter
        .streams
        .poll(caller.0.client, id, request, transmitter.clock.now())
        .await?
        .ok_or(SsfError::NotFound)?;
    let issuer = state.public_url.as_str();
    let signed = sets
        .iter()
        .map(|set| Ok((set.jti, transmitter.sign(issuer, &stream, set)?)))
        .collect::<anyhow::Result<Vec<_>>>()
        .map_err(|error| SsfError::internal(&error))?;
    Ok(answer(StatusCode::OK, &poll_response(signed, more)))
}
