//! The outbox for admins: what failed or is still waiting, and a way to try again now.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;
use warden_domain::ports::{OutboxEntry, OutboxStatus, RetryNow};
use warden_domain::use_cases::{OutboxPage, OUTBOX_MAX_PAGE};

use super::schemas::{AdminListFailures, Empty, Envelope as Doc};
use crate::http::AdminCaller;
use crate::http::{page_query, ApiError, Envelope, FieldError};
use crate::run::state::AppState;

const DEFAULT_PAGE: u32 = 20;
/// Longest error text shown; the full text is in the database.
const MAX_ERROR_CHARS: usize = 200;

/// The `status` filter of the listing, as the OpenAPI document shows it.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum StatusFilter {
    /// Given up on: a permanent failure or too many attempts.
    Failed,
    /// Not delivered yet, still being tried.
    Pending,
}

/// Notifications that failed for good, or are still waiting to be delivered, newest first.
#[utoipa::path(
    get, path = "/api/v1/outbox", tag = "outbox",
    security(("bearer" = [])),
    params(
        ("status" = StatusFilter, Query, description = "`failed` or `pending`"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Notifications per page (default 20)"),
        ("cursor" = Option<String>, Query, format = Uuid, description = "The `next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "`Outbox retrieved successfully`", body = Doc<OutboxPageView>),
        (status = 422, description = "`Invalid input`: a missing or bad `status`, bad `limit` or `cursor`", body = Doc<super::schemas::InvalidInput>),
        AdminListFailures,
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    AdminCaller(admin): AdminCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (status, limit, cursor) = list_params(req.query_string())?;
    let page = state
        .services
        .deliver
        .list(&admin, status, cursor, limit)
        .await?;
    Ok(Envelope::ok_with(
        "Outbox retrieved successfully",
        OutboxPageView::from(&page),
    ))
}

/// Try a failed or pending notification again now (same Message-ID).
#[utoipa::path(
    post, path = "/api/v1/outbox/{id}/retry", tag = "outbox",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The notification's id")),
    responses(
        (status = 200, description = "`Notification queued for retry`", body = Doc<Empty>),
        (status = 400, description = "`Notification was already sent`", body = Doc<Empty>),
        (status = 409, description = "`Notification is being sent right now`: a worker holds it under a lease; retrying it now could send it twice", body = Doc<Empty>),
        (status = 404, description = "`Notification not found`, including ids that are not UUIDs", body = Doc<Empty>),
        AdminListFailures,
    )
)]
pub async fn retry(
    state: web::Data<AppState>,
    AdminCaller(admin): AdminCaller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::not_found("Notification not found");
    let id = Uuid::try_parse(&path).map_err(|_| not_found())?;
    let retried = state.services.deliver.retry_now(&admin, id).await?;
    let retried = retried.or_revoked(crate::http::revoked_at_commit())?;
    match retried {
        RetryNow::Queued => {
            state.after_commit.committed().await;
            Ok(Envelope::ok("Notification queued for retry"))
        }
        RetryNow::AlreadySent => Err(ApiError::bad_request("Notification was already sent")),
        RetryNow::InFlight => Err(ApiError::new(
            StatusCode::CONFLICT,
            "Notification is being sent right now",
        )),
        RetryNow::NotFound => Err(not_found()),
        other => Err(ApiError::internal(&other)),
    }
}

/// `status` (required: `failed` or `pending`), `limit` (1..=100, default 20), `cursor`.
fn list_params(query: &str) -> Result<(OutboxStatus, u32, Option<Uuid>), ApiError> {
    let mut status = None;
    let (page, mut errors) = page_query(
        query,
        DEFAULT_PAGE,
        OUTBOX_MAX_PAGE,
        |name, value, errors| {
            if name == "status" {
                match value {
                    "failed" => status = Some(OutboxStatus::Failed),
                    "pending" => status = Some(OutboxStatus::Pending),
                    _ => errors.push(FieldError::new("status", "must be failed or pending")),
                }
            }
        },
    )?;
    match status {
        Some(status) if errors.is_empty() => Ok((status, page.limit, page.cursor)),
        _ => {
            if status.is_none() && !errors.iter().any(|e| e.field == "status") {
                errors.insert(0, FieldError::new("status", "must be failed or pending"));
            }
            Err(ApiError::invalid_input(errors))
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OutboxEntryView {
    id: Uuid,
    recipient: String,
    #[schema(value_type = String, example = "deactivated")]
    action: &'static str,
    attempts: u32,
    /// The last failure: the mail server's reply, or what went wrong reaching it.
    last_error: Option<String>,
    next_attempt_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    #[schema(value_type = String, example = "failed")]
    status: &'static str,
}

impl From<&OutboxEntry> for OutboxEntryView {
    fn from(entry: &OutboxEntry) -> Self {
        Self {
            id: entry.notification.id,
            recipient: entry.notification.to.to_string(),
            action: entry.notification.action.as_str(),
            attempts: entry.attempts,
            last_error: entry.last_error.as_deref().map(public_error),
            next_attempt_at: entry.next_attempt_at,
            created_at: entry.notification.occurred_at,
            status: entry.status.as_str(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OutboxPageView {
    notifications: Vec<OutboxEntryView>,
    next_cursor: Option<Uuid>,
}

impl From<&OutboxPage> for OutboxPageView {
    fn from(page: &OutboxPage) -> Self {
        Self {
            notifications: page.entries.iter().map(OutboxEntryView::from).collect(),
            next_cursor: page.next_cursor,
        }
    }
}

/// What an admin is shown of a recorded delivery error: the SMTP reply when there was one,
/// else a short description; never host names, addresses or library internals.
fn public_error(recorded: &str) -> String {
    for kind in ["permanent error (", "transient error ("] {
        if let Some(start) = recorded.find(kind) {
            let reply = &recorded[start + kind.len()..];
            let (code, text) = reply.split_once("):").unwrap_or((reply, ""));
            let text: String = undouble(text.trim())
                .chars()
                .take(MAX_ERROR_CHARS)
                .collect();
            return format!("SMTP {}: {text}", code.trim_end_matches(')'))
                .trim_end_matches([':', ' '])
                .to_owned();
        }
    }
    let described = [
        ("no answer from", "The mail server did not answer in time"),
        ("tls error", "TLS with the mail server failed"),
        ("cannot connect", "Could not reach the mail server"),
        ("Connection error", "Could not reach the mail server"),
        ("network error", "The connection to the mail server failed"),
        (
            "rejected by the mail library",
            "The recipient address cannot be used",
        ),
        ("cannot build", "The message could not be built"),
    ];
    described
        .iter()
        .find(|(needle, _)| recorded.contains(needle))
        .map_or("Delivery failed", |(_, text)| text)
        .to_owned()
}

/// `a: b: a: b` (an error chain that repeats its source, as `{:#}` prints lettre's) -> `a: b`.
fn undouble(text: &str) -> String {
    let parts: Vec<&str> = text.split(": ").collect();
    let half = parts.len() / 2;
    if parts.len() % 2 == 0 && parts[..half] == parts[half..] {
        parts[..half].join(": ")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_show_the_smtp_reply_and_nothing_internal() {
        assert_eq!(
            public_error("permanent error (550): 5.1.1 No such mailbox"),
            "SMTP 550: 5.1.1 No such mailbox"
        );
        assert_eq!(
            public_error("permanent error (550): 5.1.1 No: such: 5.1.1 No: such"),
            "SMTP 550: 5.1.1 No: such"
        );
        assert_eq!(
            public_error("transient error (451): 4.3.0 Try again later"),
            "SMTP 451: 4.3.0 Try again later"
        );
        let hidden =
            public_error("cannot connect to mail.internal:2525: Connection refused (os error 111)");
        assert_eq!(hidden, "Could not reach the mail server");
        assert_eq!(
            public_error("something odd at /var/lib/x"),
            "Delivery failed"
        );
    }

    #[test]
    fn list_parameters_are_checked() {
        assert_eq!(
            list_params("status=failed").unwrap(),
            (OutboxStatus::Failed, 20, None)
        );
        for bad in [
            "",
            "status=sent",
            "status=failed&limit=0",
            "status=pending&cursor=x",
        ] {
            assert_eq!(
                list_params(bad).unwrap_err().status().as_u16(),
                422,
                "{bad}"
            );
        }
    }
}
