//! "Why can't this user sign in?": every cause in force, in plain words, with its data.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use warden_domain::use_cases::{AccessReason, AccessReport};
use warden_domain::UserId;

use super::schemas::{AdminFailures, Envelope as Doc};
use super::views::ActorView;
use crate::http::StaffCaller;
use crate::http::{ApiError, Envelope};
use crate::run::state::AppState;

/// Whether an account can sign in now, and if not, every reason why.
#[utoipa::path(
    get, path = "/api/v1/users/{user_id}/access", tag = "users",
    security(("bearer" = [])),
    params(("user_id" = String, Path, description = "The account's id")),
    responses(
        (status = 200, description = "`Access explained`", body = Doc<AccessView>),
        AdminFailures,
    )
)]
pub async fn explain(
    state: web::Data<AppState>,
    StaffCaller(admin): StaffCaller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let target = UserId::parse(&path).map_err(|_| ApiError::not_found("User not found"))?;
    let report = state.services.access.explain(&admin, target).await?;
    Ok(Envelope::ok_with(
        "Access explained",
        AccessView::from(&report),
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccessView {
    /// `true` when no reason stands in the way.
    can_sign_in: bool,
    /// Every cause in force, each with a `code`, a plain-words `message` and its data. More
    /// codes may be added: show the `message` of a code you do not know.
    reasons: Vec<ReasonView>,
}

impl From<&AccessReport> for AccessView {
    fn from(report: &AccessReport) -> Self {
        Self {
            can_sign_in: report.can_sign_in(),
            reasons: report.reasons.iter().map(ReasonView::of).collect(),
        }
    }
}

/// One reason an account cannot sign in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ReasonView {
    Deactivated(DeactivatedView),
    SignInThrottled(ThrottledView),
    Other(OtherView),
}

/// A cause without data of its own.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)] // in the schema: no other fields, so one variant matches
pub struct OtherView {
    #[schema(value_type = String)]
    code: &'static str,
    message: String,
}

/// The account is deactivated: no sign-in from anywhere, no token works.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)] // in the schema: no other fields, so one variant matches
pub struct DeactivatedView {
    /// `deactivated`
    #[schema(value_type = String, example = "deactivated")]
    code: &'static str,
    #[schema(
        example = "Deactivated by admin@example.com at 2026-11-30T12:00:00Z: Terms of service violation"
    )]
    message: String,
    at: DateTime<Utc>,
    /// Who deactivated it, as the audit trail recorded it (`null` if that record is gone).
    by: Option<ActorView>,
    reason: Option<String>,
    /// When a timed suspension ends and the system reactivates the account; `null`: until an
    /// admin reactivates it.
    until: Option<DateTime<Utc>>,
}

/// Repeated failed sign-ins locked some clients out of the account for a while.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)] // in the schema: no other fields, so one variant matches
pub struct ThrottledView {
    /// `sign_in_throttled`
    #[schema(value_type = String, example = "sign_in_throttled")]
    code: &'static str,
    #[schema(
        example = "Too many failed sign-ins: 1 client is locked out until 2026-11-30T12:00:30Z; other clients are not"
    )]
    message: String,
    /// How many clients (addresses) are locked out of the account.
    clients: u32,
    /// When the last of those lockouts ends.
    until: DateTime<Utc>,
}

impl ReasonView {
    fn of(cause: &AccessReason) -> Self {
        let code = cause.code();
        match cause {
            AccessReason::Deactivated {
                at,
                by,
                reason,
                until,
            } => {
                let who = by
                    .as_ref()
                    .map(|actor| format!(" by {}", actor.name))
                    .unwrap_or_default();
                let why = reason
                    .as_ref()
                    .map_or_else(|| " (no reason given)".to_owned(), |r| format!(": {r}"));
                let till = until
                    .map(|until| format!(" (until {})", stamp(until)))
                    .unwrap_or_default();
                Self::Deactivated(DeactivatedView {
                    code,
                    message: format!("Deactivated{who} at {}{till}{why}", stamp(*at)),
                    at: *at,
                    by: by.as_ref().map(ActorView::from),
                    reason: reason.as_ref().map(ToString::to_string),
                    until: *until,
                })
            }
            AccessReason::SignInThrottled { clients, until } => {
                let subject = if *clients == 1 {
                    "1 client is".to_owned()
                } else {
                    format!("{clients} clients are")
                };
                Self::SignInThrottled(ThrottledView {
                    code,
                    message: format!(
                        "Too many failed sign-ins: {subject} locked out until {}; other clients are not",
                        stamp(*until)
                    ),
                    clients: *clients,
                    until: *until,
                })
            }
            AccessReason::NoPassword => Self::Other(OtherView {
                code,
                message: "No password (provisioned): created by a provisioning client, the account cannot sign in with a password until one is set".to_owned(),
            }),
            // A cause added to the domain before this view learns to describe it.
            _ => Self::Other(OtherView {
                code,
                message: code.replace('_', " "),
            }),
        }
    }
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;
    use warden_domain::{ActorKind, Reason, RecordedActor};

    use super::*;

    #[test]
    fn reasons_are_told_in_plain_words_with_their_data() {
        let at = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
        let id = uuid::Uuid::now_v7();
        let deactivated = AccessReason::Deactivated {
            at,
            by: Some(RecordedActor {
                kind: ActorKind::User,
                id: Some(id),
                name: "boss@example.com".into(),
                role: Some(warden_domain::Role::Admin),
            }),
            reason: Reason::parse("spam").unwrap(),
            until: None,
        };
        assert_eq!(
            serde_json::to_value(ReasonView::of(&deactivated)).unwrap(),
            json!({
                "code": "deactivated",
                "message": "Deactivated by boss@example.com at 2026-11-30T12:00:00Z: spam",
                "at": "2026-11-30T12:00:00Z",
                "by": {"kind": "user", "id": id.to_string(), "name": "boss@example.com", "role": "admin"},
                "reason": "spam",
                "until": null,
            })
        );
        let timed = AccessReason::Deactivated {
            at,
            by: None,
            reason: None,
            until: Some(at + chrono::TimeDelta::days(7)),
        };
        assert_eq!(
            serde_json::to_value(ReasonView::of(&timed)).unwrap()["message"],
            "Deactivated at 2026-11-30T12:00:00Z (until 2026-12-07T12:00:00Z) (no reason given)"
        );
        let throttled = AccessReason::SignInThrottled {
            clients: 2,
            until: at,
        };
        assert_eq!(
            serde_json::to_value(ReasonView::of(&throttled)).unwrap(),
            json!({
                "code": "sign_in_throttled",
                "message": "Too many failed sign-ins: 2 clients are locked out until 2026-11-30T12:00:00Z; other clients are not",
                "clients": 2,
                "until": "2026-11-30T12:00:00Z",
            })
        );
    }
}
