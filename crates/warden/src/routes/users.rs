use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde_json::Value;
use warden_domain::use_cases::Staff;
use warden_domain::{Reason, StatusAction, UserId};

use super::idempotency_doc::{
    IdempotencyFailures, IdempotencyKeyHeader, KeyedInvalidInput, KEYED_422,
};
use super::schemas::{AdminFailures, Empty, Envelope as Doc, StatusChangeRequest};
use super::views::{EventPageView, UserView};
use crate::http::StaffCaller;
use crate::http::{page_query, parse_json, read_bytes, ApiError, Envelope, Fields};
use crate::run::state::AppState;
use crate::workers::after_commit::Channel;

/// Deactivate an account: revoke its access at once, record why, and email the user.
#[utoipa::path(
    patch, path = "/api/v1/users/deactivate", tag = "users",
    security(("bearer" = [])),
    params(IdempotencyKeyHeader),
    request_body = StatusChangeRequest,
    responses(
        (status = 200, description = "`User account deactivated successfully`; a replay of a stored answer (of any status below 500) carries `Idempotency-Replayed: true`", body = Doc<Empty>,
            headers(("Idempotency-Replayed" = String, description = "`true` when this is the stored answer of an earlier request with the same `Idempotency-Key`"))),
        (status = 400, description = "`User is already deactivated`, `You cannot deactivate your own account` or `Cannot deactivate the last active admin`; `Could not read the request body` when the upload breaks off", body = Doc<Empty>),
        (status = 422, description = KEYED_422, body = Doc<KeyedInvalidInput>),
        AdminFailures, IdempotencyFailures,
    )
)]
pub async fn deactivate(
    state: web::Data<AppState>,
    StaffCaller(admin): StaffCaller,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_bytes(&req, body).await?;
    let act = async {
        let input = StatusChangeInput::from_body(&admin, &body)?;
        let target = target_id(&input.user_id)?;
        let changes = &state.services.deactivate;
        changes
            .execute_until(&admin, target, input.reason, input.until)
            .await?;
        Ok(changed(&state, StatusAction::Deactivate).await)
    };
    let keys = &state.services.idempotency;
    keys.run(&req, admin.id(), &body, act).await
}

/// Reactivate an account. Tokens issued before stay revoked; the user signs in anew.
#[utoipa::path(
    patch, path = "/api/v1/users/reactivate", tag = "users",
    security(("bearer" = [])),
    params(IdempotencyKeyHeader),
    request_body = StatusChangeRequest,
    responses(
        (status = 200, description = "`User account reactivated successfully`; a replay of a stored answer (of any status below 500) carries `Idempotency-Replayed: true`", body = Doc<Empty>,
            headers(("Idempotency-Replayed" = String, description = "`true` when this is the stored answer of an earlier request with the same `Idempotency-Key`"))),
        (status = 400, description = "`User is already active`; `Could not read the request body` when the upload breaks off", body = Doc<Empty>),
        (status = 422, description = KEYED_422, body = Doc<KeyedInvalidInput>),
        AdminFailures, IdempotencyFailures,
    )
)]
pub async fn reactivate(
    state: web::Data<AppState>,
    StaffCaller(admin): StaffCaller,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_bytes(&req, body).await?;
    let act = async {
        let input = StatusChangeInput::from_body(&admin, &body)?;
        let target = target_id(&input.user_id)?;
        let changes = &state.services.reactivate;
        changes.execute(&admin, target, input.reason).await?;
        Ok(changed(&state, StatusAction::Reactivate).await)
    };
    let keys = &state.services.idempotency;
    keys.run(&req, admin.id(), &body, act).await
}

/// After a committed change: what follows every change (count it, start its email and
/// webhooks), then the answer.
async fn changed(state: &AppState, action: StatusAction) -> HttpResponse {
    state
        .after_commit
        .status_changed(Channel::Api, action)
        .await;
    Envelope::ok(match action {
        StatusAction::Deactivate => DEACTIVATED,
        StatusAction::Reactivate => "User account reactivated successfully",
    })
}

/// An account's profile and status, including who deactivated it, when and why.
#[utoipa::path(
    get, path = "/api/v1/users/{user_id}", tag = "users",
    security(("bearer" = [])),
    params(("user_id" = String, Path, description = "The account's id")),
    responses(
        (status = 200, description = "`User retrieved successfully`", body = Doc<UserView>),
        AdminFailures,
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    StaffCaller(admin): StaffCaller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    record_ids(admin.id(), &path);
    let user = state
        .services
        .queries
        .get(&admin, target_id(&path)?)
        .await?;
    Ok(Envelope::ok_with(
        "User retrieved successfully",
        UserView::from(&user),
    ))
}

/// An account's lifecycle events, newest first, a page at a time.
#[utoipa::path(
    get, path = "/api/v1/users/{user_id}/events", tag = "users",
    security(("bearer" = [])),
    params(
        ("user_id" = String, Path, description = "The account's id"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Events per page (default 20)"),
        ("cursor" = Option<String>, Query, format = Uuid, description = "The `next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "`User events retrieved successfully`", body = Doc<EventPageView>),
        (status = 422, description = "`Invalid input`: a bad `limit` or `cursor`", body = Doc<super::schemas::InvalidInput>),
        AdminFailures,
    )
)]
pub async fn events(
    state: web::Data<AppState>,
    StaffCaller(admin): StaffCaller,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    record_ids(admin.id(), &path);
    let (limit, cursor) = page_params(req.query_string())?;
    let target = target_id(&path)?;
    let page = state
        .services
        .queries
        .events(&admin, target, cursor, limit)
        .await?;
    Ok(Envelope::ok_with(
        "User events retrieved successfully",
        EventPageView::from(&page),
    ))
}

/// The HTTP API's policy for ids: anything that is not a user id names no user, so it is the
/// same 404 as an unknown one (a client learns nothing from the id's shape).
pub(crate) fn target_id(text: &str) -> Result<UserId, ApiError> {
    UserId::parse(text).map_err(|_| unknown_user())
}

/// The answer for an id that names no user.
pub(crate) fn unknown_user() -> ApiError {
    ApiError::not_found("User not found")
}

/// The answer of a successful deactivation.
pub(crate) const DEACTIVATED: &str = "User account deactivated successfully";

pub(crate) fn record_ids(actor: UserId, target: &str) {
    let span = tracing::Span::current();
    span.record("actor_id", tracing::field::display(actor));
    span.record("target_id", target.chars().take(64).collect::<String>());
}

/// `limit` (1..=100, default 20) and `cursor` (the `next_cursor` of the previous page).
fn page_params(query: &str) -> Result<(u32, Option<uuid::Uuid>), ApiError> {
    use warden_domain::use_cases::UserQueries;
    let (page, errors) = page_query(
        query,
        UserQueries::DEFAULT_PAGE,
        UserQueries::MAX_PAGE,
        |_, _, _| {},
    )?;
    if errors.is_empty() {
        Ok((page.limit, page.cursor))
    } else {
        Err(ApiError::invalid_input(errors))
    }
}

/// The body of a status change.
#[derive(Debug)]
struct StatusChangeInput {
    user_id: String,
    reason: Option<Reason>,
    /// A timed suspension's end (deactivation only; a reactivation ignores it). Whether it is
    /// in the allowed range, the use case decides (422 on `until` otherwise).
    until: Option<DateTime<Utc>>,
}

impl StatusChangeInput {
    /// The input in `body`, sent by `admin`.
    fn from_body(admin: &Staff, body: &[u8]) -> Result<Self, ApiError> {
        let input = Self::parse(parse_json(body)?)?;
        record_ids(admin.id(), &input.user_id);
        Ok(input)
    }

    fn parse(body: Value) -> Result<Self, ApiError> {
        let mut fields = Fields::of(body)?;
        let user_id = fields.required_string("user_id");
        let reason = fields.optional_reason();
        let until = fields.optional_instant("until");
        fields.finish(user_id.map(|user_id| Self {
            user_id,
            reason,
            until,
        }))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn errors_of(body: Value) -> Vec<String> {
        let err = StatusChangeInput::parse(body).unwrap_err();
        assert_eq!(err.status().as_u16(), 422);
        err.data()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn accepts_an_id_and_an_optional_reason() {
        let input =
            StatusChangeInput::parse(json!({"user_id": "abc", "reason": " spam "})).unwrap();
        assert_eq!(input.user_id, "abc");
        assert_eq!(input.reason.unwrap().as_str(), "spam");
        let input = StatusChangeInput::parse(json!({"user_id": "abc", "reason": null})).unwrap();
        assert!(input.reason.is_none() && input.until.is_none());
        let input =
            StatusChangeInput::parse(json!({"user_id": "a", "until": "2030-01-02T03:04:05+01:00"}))
                .unwrap();
        assert_eq!(
            input.until.unwrap().to_rfc3339(),
            "2030-01-02T02:04:05+00:00"
        );
    }

    #[test]
    fn lists_every_bad_field() {
        assert_eq!(errors_of(json!([1, 2])), ["body"]);
        assert_eq!(errors_of(json!({})), ["user_id"]);
        assert_eq!(errors_of(json!({"user_id": "  "})), ["user_id"]);
        assert_eq!(errors_of(json!({"user_id": 12345})), ["user_id"]);
        assert_eq!(
            errors_of(json!({"user_id": 1, "reason": "x".repeat(501)})),
            ["user_id", "reason"]
        );
        assert_eq!(errors_of(json!({"user_id": "a", "reason": 7})), ["reason"]);
        assert_eq!(
            errors_of(json!({"user_id": "a", "until": "tomorrow"})),
            ["until"]
        );
        assert_eq!(errors_of(json!({"user_id": "a", "until": 1})), ["until"]);
    }

    #[test]
    fn page_parameters_are_checked() {
        assert_eq!(page_params("").unwrap(), (20, None));
        let id = uuid::Uuid::now_v7();
        assert_eq!(
            page_params(&format!("limit=5&cursor={id}")).unwrap(),
            (5, Some(id))
        );
        for bad in ["limit=0", "limit=101", "limit=x", "cursor=nope"] {
            assert_eq!(
                page_params(bad).unwrap_err().status().as_u16(),
                422,
                "{bad}"
            );
        }
    }
}
