//! Stream management (SSF 1.0 section 8.1): configuration, status, verification and subjects.
//! Each handler reads its input, calls the transmitter's store for the caller's own streams,
//! and answers in SSF's JSON.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;
use uuid::Uuid;
use warden_domain::{QueuedSet, SecurityEventType, Stream, StreamDelivery, StreamStatus};
use warden_ssf::config::{
    status_json, status_request, stream_json, subject_request, verification_request,
};
use warden_ssf::StreamRequest;

use super::{answer, json_body, query_stream_id, Manager, Reader, SsfError, POLL_PATH};
use crate::run::state::AppState;

fn shown(state: &AppState, stream: &Stream) -> Value {
    let poll_url = state.public_url.at(&format!("{POLL_PATH}/{}", stream.id));
    stream_json(stream, state.public_url.as_str(), &poll_url)
}

/// A push endpoint must obey the webhook rules (https, public addresses unless
/// `WARDEN_WEBHOOK_ALLOW_PRIVATE=true`); checked again when each SET is pushed.
async fn check_delivery(state: &AppState, stream: &Stream) -> Result<(), SsfError> {
    if let StreamDelivery::Push { endpoint_url, .. } = &stream.delivery {
        warden_webhooks::check_url(endpoint_url, state.services.ssf.allow_private)
            .await
            .map_err(|bad| SsfError::BadRequest(format!("delivery.endpoint_url {bad}")))?;
    }
    Ok(())
}

/// Creates a stream for the caller (201 with its configuration). `delivery` defaults to poll.
#[utoipa::path(post, path = "/ssf/streams", tag = "ssf",
    responses((status = 201, description = "The stream's configuration"),
              (status = 400, description = "A field is wrong: its description"),
              (status = 401, description = "No client token"), (status = 403, description = "No ssf.manage")))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Manager,
    body: web::Bytes,
) -> Result<HttpResponse, SsfError> {
    let request = StreamRequest::parse(&json_body(&body)?)?;
    let transmitter = &state.services.ssf;
    let client = caller.0.client;
    let blank = Stream {
        id: Uuid::new_v4(),
        client_id: client,
        audience: client.to_string(),
        delivery: StreamDelivery::Poll,
        events_requested: Vec::new(),
        events_delivered: Vec::new(),
        status: StreamStatus::Enabled,
        status_reason: None,
        description: None,
        created_at: transmitter.clock.now(),
    };
    let stream = request.apply(blank, true);
    check_delivery(&state, &stream).await?;
    let stream = transmitter
        .streams
        .create_stream(stream)
        .await?
        .ok_or(SsfError::Unauthorized)?;
    Ok(answer(StatusCode::CREATED, &shown(&state, &stream)))
}

/// One stream (`?stream_id=`), or every stream of the caller.
#[utoipa::path(get, path = "/ssf/streams", tag = "ssf",
    params(("stream_id" = Option<String>, Query, description = "One stream; without it, all")),
    responses((status = 200, description = "The configuration, or a list of them"),
              (status = 404, description = "No such stream of the caller's"),
              (status = 401, description = "No client token, or an unknown or revoked one"),
              (status = 403, description = "The client lacks the scope")))]
pub async fn read(
    state: web::Data<AppState>,
    caller: Reader,
    req: HttpRequest,
) -> Result<HttpResponse, SsfError> {
    let streams = &state.services.ssf.streams;
    let body = match query_stream_id(&req)? {
        Some(id) => {
            let stream = streams.stream(caller.0.client, id).await?;
            shown(&state, &stream.ok_or(SsfError::NotFound)?)
        }
        None => Value::Array(
            streams
                .streams(caller.0.client)
                .await?
                .iter()
                .map(|stream| shown(&state, stream))
                .collect(),
        ),
    };
    Ok(answer(StatusCode::OK, &body))
}

async fn change(
    state: &AppState,
    caller: &Manager,
    body: &[u8],
    replace: bool,
) -> Result<HttpResponse, SsfError> {
    let request = StreamRequest::parse(&json_body(body)?)?;
    let id = request.required_id()?;
    let streams = &state.services.ssf.streams;
    let current = streams
        .stream(caller.0.client, id)
        .await?
        .ok_or(SsfError::NotFound)?;
    let stream = request.apply(current, replace);
    check_delivery(state, &stream).await?;
    let stream = streams
        .update_stream(stream)
        .await?
        .ok_or(SsfError::NotFound)?;
    Ok(answer(StatusCode::OK, &shown(state, &stream)))
}

/// Updates the fields given (`stream_id` required).
#[utoipa::path(patch, path = "/ssf/streams", tag = "ssf",
    responses((status = 200, description = "The stream's configuration"),
              (status = 404, description = "No such stream of the caller's"),
              (status = 401, description = "No client token, or an unknown or revoked one"),
              (status = 403, description = "The client lacks the scope")))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Manager,
    body: web::Bytes,
) -> Result<HttpResponse, SsfError> {
    change(&state, &caller, &body, false).await
}

/// Replaces the receiver-supplied configuration (`stream_id` required).
#[utoipa::path(put, path = "/ssf/streams", tag = "ssf",
    responses((status = 200, description = "The stream's configuration"),
              (status = 404, description = "No such stream of the caller's"),
              (status = 401, description = "No client token, or an unknown or revoked one"),
              (status = 403, description = "The client lacks the scope")))]
pub async fn replace(
    state: web::Data<AppState>,
    caller: Manager,
    body: web::Bytes,
) -> Result<HttpResponse, SsfError> {
    change(&state, &caller, &body, true).await
}

/// Deletes a stream (`?stream_id=`) and the SETs it still owed: 204.
#[utoipa::path(delete, path = "/ssf/streams", tag = "ssf",
    params(("stream_id" = String, Query, description = "The stream")),
    responses((status = 204, description = "Deleted"),
              (status = 404, description = "No such stream of the caller's"),
              (status = 401, description = "No client token, or an unknown or revoked one"),
              (status = 403, description = "The client lacks the scope")))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Manager,
    req: HttpRequest,
) -> Result<HttpResponse, SsfError> {
    let id = query_stream_id(&req)?
        .ok_or_else(|| SsfError::BadRequest("stream_id is required".into()))?;
    if state
        .services
        .ssf
        .streams
        .delete_stream(caller.0.client, id)
        .await?
    {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(SsfError::NotFound)
    }
}

/// A stream's status (`?stream_id=`).
#[utoipa::path(get, path = "/ssf/status", tag = "ssf",
    params(("stream_id" = String, Query, description = "The stream")),
    responses((status = 200, description = "`{stream_id, status, reason}`"),
              (status = 404, description = "No such stream of the caller's"),
              (status = 401, description = "No client token, or an unknown or revoked one"),
              (status = 403, description = "The client lacks the scope")))]
pub async fn status(
    state: web::Data<AppState>,
    caller: Reader,
    req: HttpRequest,
) -> Result<HttpResponse, SsfError> {
    let id = query_stream_id(&req)?
        .ok_or_else(|| SsfError::BadRequest("stream_id is required".into()))?;
    let stream = state
        .services
        .ssf
        .streams
        .stream(caller.0.client, id)
        .await?
        .ok_or(SsfError::NotFound)?;
    Ok(answer(StatusCode::OK, &status_json(&stream)))
}

/// Sets a stream's status: `enabled`, `paused` (events held, then delivered in order) or
/// `disabled` (events dropped).
#[utoipa::path(post, path = "/ssf/status", tag = "ssf",
    responses((status = 200, description = "The new status"),
              (status = 404, description = "No such stream of the caller's"),
              (status = 401, description = "No client token, or an unknown or revoked one"),
              (status = 403, description = "The client lacks the scope")))]
pub async fn set_status(
    state: web::Data<AppState>,
    caller: Manager,
    body: web::Bytes,
) -> Result<HttpResponse, SsfError> {
    let (id, status, reason) = status_request(&json_body(&body)?)?;
    let stream = state
        .services
        .ssf
        .streams
        .set_status(caller.0.client, id, status, reason)
        .await?
        .ok_or(SsfError::NotFound)?;
    if status == StreamStatus::Enabled {
        state.after_commit.ssf_due();
    }
    Ok(answer(StatusCode::OK, &status_json(&stream)))
}

/// Asks for a verification event carrying `state`: 204, the event follows on the stream.
#[utoipa::path(post, path = "/ssf/verify", tag = "ssf",
    responses((status = 204, description = "A verification event is on its way"),
              (status = 404, description = "No such stream of the caller's, or it is disabled"),
              (status = 401, description = "No client token, or an unknown or revoked one"),
              (status = 403, description = "The client lacks the scope")))]
pub async fn verify(
    state: web::Data<AppState>,
    caller: Reader,
    body: web::Bytes,
) -> Result<HttpResponse, SsfError> {
    let (id, verification_state) = verification_request(&json_body(&body)?)?;
    let transmitter = &state.services.ssf;
    let set = QueuedSet {
        jti: Uuid::new_v4(),
        stream_id: id,
        txn: Uuid::new_v4(),
        event_type: SecurityEventType::Verification,
        subject: None,
        occurred_at: transmitter.clock.now(),
        actor_kind: None,
        reason: None,
        state: verification_state,
        attempts: 0,
    };
    if !transmitter.streams.enqueue(caller.0.client, set).await? {
        return Err(SsfError::NotFound);
    }
    state.after_commit.ssf_due();
    Ok(HttpResponse::NoContent().finish())
}

async fn subject(state: &AppState, caller: &Manager, body: &[u8]) -> Result<(), SsfError> {
    let id = subject_request(&json_body(body)?)?;
    state
        .services
        .ssf
        .streams
        .stream(caller.0.client, id)
        .await?
        .map(|_| ())
        .ok_or(SsfError::NotFound)
}

/// Accepts a subject: every account is a stream's subject already (`default_subjects: ALL`).
#[utoipa::path(post, path = "/ssf/subjects/add", tag = "ssf",
    responses((status = 200, description = "Accepted"),
              (status = 404, description = "No such stream of the caller's"),
              (status = 401, description = "No client token, or an unknown or revoked one"),
              (status = 403, description = "The client lacks the scope")))]
pub async fn add_subject(
    state: web::Data<AppState>,
    caller: Manager,
    body: web::Bytes,
) -> Result<HttpResponse, SsfError> {
    subject(&state, &caller, &body).await?;
    Ok(HttpResponse::Ok().finish())
}

/// Accepts a subject's removal; events about every account still flow (`default_subjects:
/// ALL`, no per-subject filtering yet).
#[utoipa::path(post, path = "/ssf/subjects/remove", tag = "ssf",
    responses((status = 204, description = "Accepted"),
              (status = 404, description = "No such stream of the caller's"),
              (status = 401, description = "No client token, or an unknown or revoked one"),
              (status = 403, description = "The client lacks the scope")))]
pub async fn remove_subject(
    state: web::Data<AppState>,
    caller: Manager,
    body: web::Bytes,
) -> Result<HttpResponse, SsfError> {
    subject(&state, &caller, &body).await?;
    Ok(HttpResponse::NoContent().finish())
}
