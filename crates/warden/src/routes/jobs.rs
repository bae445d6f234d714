//! Bulk deactivation: an admin submits up to 10,000 user ids, gets a job id at once (202), and
//! reads the job's progress and each user's answer; the job runner (`workers/jobs.rs`) carries it
//! out in the background.

use actix_web::http::header::{HeaderValue, LOCATION};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;
use warden_domain::use_cases::{BulkDeactivate, ItemFailure};
use warden_domain::{Job, Reason};

use super::idempotency_doc::{
    IdempotencyFailures, IdempotencyKeyHeader, KeyedInvalidInput, KEYED_422,
};
use super::schemas::{AdminListFailures, Empty, Envelope as Doc};
use super::users::{unknown_user, DEACTIVATED};
use crate::http::AdminCaller;
use crate::http::{parse_json, read_bytes_up_to, ApiError, Envelope, Fields};
use crate::run::state::AppState;

/// The largest bulk body: 10,000 ids with room for their quotes and a reason.
pub const BULK_BODY_LIMIT: usize = 1024 * 1024;

const ACCEPTED: &str = "Bulk deactivation accepted";

/// Body of `POST /api/v1/users/deactivate/bulk`. Other fields are ignored.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct BulkDeactivationRequest {
    /// The accounts to deactivate, 1 to 10,000 (else 422 on `user_ids`). Each is answered as
    /// `PATCH /api/v1/users/deactivate` would answer it (an id that is not a UUID: 404).
    #[schema(min_items = 1, max_items = 10000, example = json!(["0193a1c4-7f7e-7d1a-9a4e-2f1c3b5d6e7f"]))]
    user_ids: Vec<String>,
    /// As for the single route.
    /// (`maxLength` and `pattern` from the domain: `openapi::DomainLimits`.)
    #[schema(example = "Spam wave")]
    reason: Option<String>,
    /// As for the single route: a timed suspension's end (RFC 3339, future, at most ten years).
    #[schema(format = DateTime)]
    until: Option<String>,
}

/// The accepted job.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobAcceptedView {
    job_id: Uuid,
}

/// One user's answer: what `PATCH /api/v1/users/deactivate` would have answered.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ItemResultView {
    /// As sent.
    user_id: String,
    #[schema(example = 200)]
    status_code: u16,
    #[schema(example = "User account deactivated successfully")]
    message: String,
}

/// A job and the answers of its finished items, in request order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobView {
    id: Uuid,
    /// `bulk_deactivate`
    #[schema(value_type = String, example = "bulk_deactivate")]
    kind: &'static str,
    /// `queued` (not started), `running` or `done` (every user has its result).
    #[schema(value_type = String, example = "running")]
    status: &'static str,
    total: u32,
    /// Finished items answered 2xx.
    succeeded: u32,
    /// Finished items answered otherwise.
    failed: u32,
    results: Vec<ItemResultView>,
}

impl From<&Job> for JobView {
    fn from(job: &Job) -> Self {
        Self {
            id: job.id,
            kind: job.kind.as_str(),
            status: job.status.as_str(),
            total: job.total,
            succeeded: job.succeeded(),
            failed: job.failed(),
            results: job
                .results
                .iter()
                .map(|r| ItemResultView {
                    user_id: r.user_id.clone(),
                    status_code: r.status_code,
                    message: r.message.clone(),
                })
                .collect(),
        }
    }
}

/// Deactivate many accounts in the background; each goes through the same rules as
/// `PATCH /api/v1/users/deactivate`, on the caller's authority (re-checked for each).
#[utoipa::path(
    post, path = "/api/v1/users/deactivate/bulk", tag = "users",
    security(("bearer" = [])),
    params(IdempotencyKeyHeader),
    request_body = BulkDeactivationRequest,
    responses(
        (status = 202, description = "`Bulk deactivation accepted`; a replay of a stored answer carries `Idempotency-Replayed: true`", body = Doc<JobAcceptedView>,
            headers(("Location" = String, description = "`/api/v1/jobs/{job_id}`"),
                    ("Idempotency-Replayed" = String, description = "`true` when this is the stored answer of an earlier request with the same `Idempotency-Key`"))),
        (status = 400, description = "`Could not read the request body` when the upload breaks off", body = Doc<Empty>),
        (status = 422, description = KEYED_422, body = Doc<KeyedInvalidInput>),
        AdminListFailures, IdempotencyFailures,
    )
)]
pub async fn bulk_deactivate(
    state: web::Data<AppState>,
    AdminCaller(admin): AdminCaller,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_bytes_up_to(&req, body, BULK_BODY_LIMIT).await?;
    let act = async {
        let input = BulkInput::parse(parse_json(&body)?)?;
        let bulk = &state.services.bulk;
        let id = bulk
            .submit(&admin, input.user_ids, input.reason, input.until)
            .await?;
        Ok(accepted(id))
    };
    let keys = &state.services.idempotency;
    let response = keys.run(&req, admin.id(), &body, act).await?;
    with_location(response).await
}

/// A replayed 202 carries the stored body only: give it its `Location` back from the body's
/// `job_id`.
async fn with_location(response: HttpResponse) -> Result<HttpResponse, ApiError> {
    if response.status() != StatusCode::ACCEPTED || response.headers().contains_key(LOCATION) {
        return Ok(response);
    }
    let (head, body) = response.into_parts();
    let bytes = actix_web::body::to_bytes(body)
        .await
        .map_err(|e| ApiError::internal(&e.to_string()))?;
    let job_id = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v["data"]["job_id"].as_str().map(str::to_owned));
    let mut response = head.set_body(bytes).map_into_boxed_body();
    if let Some(location) =
        job_id.and_then(|id| HeaderValue::from_str(&format!("/api/v1/jobs/{id}")).ok())
    {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

fn accepted(id: Uuid) -> HttpResponse {
    let mut response =
        Envelope::new(StatusCode::ACCEPTED, ACCEPTED, json!({ "job_id": id })).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/jobs/{id}")) {
        response.headers_mut().insert(LOCATION, location);
    }
    response
}

/// A job's progress and its users' answers.
#[utoipa::path(
    get, path = "/api/v1/jobs/{job_id}", tag = "users",
    security(("bearer" = [])),
    params(("job_id" = String, Path, description = "The job's id")),
    responses(
        (status = 200, description = "`Job retrieved successfully`", body = Doc<JobView>),
        (status = 404, description = "`Job not found`, including ids that are not UUIDs", body = Doc<Empty>),
        AdminListFailures,
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    AdminCaller(admin): AdminCaller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::not_found("Job not found");
    let id = Uuid::try_parse(&path).map_err(|_| not_found())?;
    let job = state
        .services
        .bulk
        .job(&admin, id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Envelope::ok_with(
        "Job retrieved successfully",
        JobView::from(&job),
    ))
}

/// What the single-user route answers for one item's outcome: its status code and message,
/// from the same error mapping.
pub fn answer(outcome: Result<(), ItemFailure>) -> (u16, String) {
    let error = match outcome {
        Ok(()) => return (StatusCode::OK.as_u16(), DEACTIVATED.to_owned()),
        Err(ItemFailure::Access(error)) => ApiError::from(error),
        Err(ItemFailure::NotAUserId) => unknown_user(),
        Err(ItemFailure::Deactivate(error)) => ApiError::from(error),
    };
    (error.status().as_u16(), error.message().to_owned())
}

/// An id as the job keeps it and echoes it back. A user id is 36 characters; anything longer or
/// holding a NUL names no user either way (404), so it is kept shortened and NUL-free, as a
/// database text column can hold it.
fn stored_id(id: &str) -> String {
    id.chars()
        .take(MAX_ID_CHARS)
        .map(|c| if c == '\0' { '\u{FFFD}' } else { c })
        .collect()
}

/// The longest id a job keeps (longer ones are cut; they are 404 anyway).
const MAX_ID_CHARS: usize = 100;

#[derive(Debug)]
struct BulkInput {
    user_ids: Vec<String>,
    reason: Option<Reason>,
    until: Option<DateTime<Utc>>,
}

impl BulkInput {
    fn parse(body: Value) -> Result<Self, ApiError> {
        let mut fields = Fields::of(body)?;
        let user_ids = match fields.take("user_ids") {
            Some(Value::Array(items))
                if (1..=BulkDeactivate::MAX_IDS).contains(&items.len())
                    && items.iter().all(Value::is_string) =>
            {
                Some(
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(stored_id)
                        .collect(),
                )
            }
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
                fields.reject("user_ids", "must list 1 to 10000 user ids")
            }
            None | Some(Value::Null) => fields.reject("user_ids", "is required"),
            Some(_) => fields.reject("user_ids", "must be a list of strings"),
        };
        let reason = fields.optional_reason();
        let until = fields.optional_instant("until");
        fields.finish(user_ids.map(|user_ids| Self {
            user_ids,
            reason,
            until,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields_of(body: Value) -> Vec<String> {
        let err = BulkInput::parse(body).unwrap_err();
        err.data()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn user_ids_must_be_one_to_ten_thousand_strings() {
        let ok = BulkInput::parse(json!({"user_ids": ["a", "b"], "reason": "x"})).unwrap();
        assert_eq!(ok.user_ids, ["a", "b"]);
        assert_eq!(fields_of(json!({"user_ids": []})), ["user_ids"]);
        let many: Vec<String> = (0..10_001).map(|i| i.to_string()).collect();
        assert_eq!(fields_of(json!({ "user_ids": many })), ["user_ids"]);
        assert_eq!(fields_of(json!({"user_ids": [1]})), ["user_ids"]);
        let odd = BulkInput::parse(json!({"user_ids": ["a\0b", "x".repeat(500)]})).unwrap();
        assert_eq!(odd.user_ids[0], "a\u{FFFD}b");
        assert_eq!(odd.user_ids[1].len(), MAX_ID_CHARS);
        assert_eq!(fields_of(json!({"user_ids": "a"})), ["user_ids"]);
        assert_eq!(
            fields_of(json!({"until": "soon", "reason": 3})),
            ["user_ids", "reason", "until"]
        );
    }
}
