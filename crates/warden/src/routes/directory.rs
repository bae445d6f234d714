//! The directory for admins: find accounts, and read the audit log of every account.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;
use warden_domain::use_cases::UserPage;
use warden_domain::{
    AuditAction, ChangeAction, EventFilter, PageLimit, Role, SearchText, StatusFilter, UserFilter,
    UserId,
};

use super::schemas::{AdminListFailures, Envelope as Doc, InvalidInput};
use super::views::{EventPageView, UserView};
use crate::http::{page_query, ApiError, Envelope, FieldError, PageQuery};
use crate::http::{AdminCaller, StaffCaller};
use crate::run::state::AppState;

/// The `status` filter of `GET /api/v1/users`, as the OpenAPI document shows it.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum AccountStatusFilter {
    Active,
    Inactive,
    All,
}

/// The `role` filter of `GET /api/v1/users`.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum RoleFilter {
    Admin,
    Helpdesk,
    User,
}

/// The `action` filter of `GET /api/v1/events`.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum EventAction {
    Deactivated,
    Reactivated,
    RoleChanged,
    ProfileUpdated,
    ClientCreated,
    ClientRevoked,
    WebhookCreated,
    WebhookUpdated,
    WebhookSecretRotated,
    WebhookDeleted,
}

/// Find accounts: by a prefix of the email, first or last name (any case), by status and by
/// role; newest account first, a page at a time.
#[utoipa::path(
    get, path = "/api/v1/users", tag = "users",
    security(("bearer" = [])),
    params(
        ("q" = Option<String>, Query, description = "Keeps accounts whose email address, first name or last name starts with this text, compared lower-cased (`ada` finds `Ada Lovelace` and `ada@example.com`). Trimmed; blank means no text filter; no control or invisible formatting characters."),
        ("status" = inline(Option<AccountStatusFilter>), Query, description = "`active`, `inactive` or `all` (the default)"),
        ("role" = inline(Option<RoleFilter>), Query, description = "`admin`, `helpdesk` or `user`; all when absent"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Accounts per page (default 20)"),
        ("cursor" = Option<String>, Query, format = Uuid, description = "The `next_cursor` of the previous page (opaque)"),
    ),
    responses(
        (status = 200, description = "`Users retrieved successfully`", body = Doc<UserPageView>),
        (status = 422, description = "`Invalid input`: a bad `q`, `status`, `role`, `limit` or `cursor`", body = Doc<InvalidInput>),
        AdminListFailures,
    )
)]
pub async fn search(
    state: web::Data<AppState>,
    StaffCaller(admin): StaffCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (filter, page) = search_params(req.query_string())?;
    let found = state
        .services
        .directory
        .search(&admin, &filter, page.cursor, limit(page)?)
        .await?;
    Ok(Envelope::ok_with(
        "Users retrieved successfully",
        UserPageView::from(&found),
    ))
}

/// The audit log of every account, newest first, a page at a time.
#[utoipa::path(
    get, path = "/api/v1/events", tag = "users",
    security(("bearer" = [])),
    params(
        ("action" = inline(Option<EventAction>), Query, description = "`deactivated`, `reactivated`, `role_changed`, `profile_updated`, `client_created`, `client_revoked`, `webhook_created`, `webhook_updated`, `webhook_secret_rotated` or `webhook_deleted`"),
        ("actor_id" = Option<String>, Query, format = Uuid, description = "Only changes made by this actor"),
        ("target_id" = Option<String>, Query, format = Uuid, description = "Only changes made to this account, client or webhook endpoint"),
        ("since" = Option<String>, Query, format = DateTime, description = "Only events at or after this time (RFC 3339; encode `+` as `%2B`)"),
        ("until" = Option<String>, Query, format = DateTime, description = "Only events at or before this time (RFC 3339); not earlier than `since`"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Events per page (default 20)"),
        ("cursor" = Option<String>, Query, format = Uuid, description = "The `next_cursor` of the previous page (opaque)"),
    ),
    responses(
        (status = 200, description = "`Events retrieved successfully`", body = Doc<EventPageView>),
        (status = 422, description = "`Invalid input`: an unknown `action`, an id that is not a UUID, a time that is not RFC 3339, `since` later than `until`, a bad `limit` or `cursor`", body = Doc<InvalidInput>),
        AdminListFailures,
    )
)]
pub async fn events(
    state: web::Data<AppState>,
    AdminCaller(admin): AdminCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (filter, page) = event_params(req.query_string())?;
    let found = state
        .services
        .directory
        .audit_log(&admin, &filter, page.cursor, limit(page)?)
        .await?;
    Ok(Envelope::ok_with(
        "Events retrieved successfully",
        EventPageView::from(&found),
    ))
}

/// `page_query` checked the bounds the domain sets.
fn limit(page: PageQuery) -> Result<PageLimit, ApiError> {
    PageLimit::new(page.limit).map_err(|e| invalid("limit", e))
}

fn invalid(field: &'static str, error: impl ToString) -> ApiError {
    ApiError::invalid_input(vec![FieldError::new(field, error.to_string())])
}

/// `q`, `status`, `role`, `limit`, `cursor`; every bad one is reported.
fn search_params(query: &str) -> Result<(UserFilter, PageQuery), ApiError> {
    let mut filter = UserFilter::default();
    let (page, errors) = page_query(
        query,
        PageLimit::DEFAULT,
        PageLimit::MAX,
        |name, value, errors| match name {
            "q" => match SearchText::parse(value) {
                Ok(text) => filter.text = text,
                Err(e) => errors.push(FieldError::new("q", e.to_string())),
            },
            "status" => match StatusFilter::parse(value) {
                Ok(status) => filter.status = status,
                Err(e) => errors.push(FieldError::new("status", e.to_string())),
            },
            "role" => match Role::parse(value) {
                Ok(role) => filter.role = Some(role),
                Err(_) => errors.push(FieldError::new("role", "must be admin, helpdesk or user")),
            },
            _ => {}
        },
    )?;
    if errors.is_empty() {
        Ok((filter, page))
    } else {
        Err(ApiError::invalid_input(errors))
    }
}

const ACTIONS_MESSAGE: &str = "must be deactivated, reactivated, role_changed, profile_updated, \
    client_created, client_revoked, webhook_created, webhook_updated, \
    webhook_secret_rotated or webhook_deleted";

/// `action`, `actor_id`, `target_id`, `since`, `until`, `limit`, `cursor`.
fn event_params(query: &str) -> Result<(EventFilter, PageQuery), ApiError> {
    let (mut action, mut actor, mut target, mut since, mut until) = (None, None, None, None, None);
    let mut change = None;
    let (page, mut errors) = page_query(
        query,
        PageLimit::DEFAULT,
        PageLimit::MAX,
        |name, value, errors| match name {
            "action" => match (AuditAction::parse(value), ChangeAction::parse(value)) {
                (Ok(parsed), _) => (action, change) = (Some(parsed), None),
                (_, Ok(parsed)) => (action, change) = (None, Some(parsed)),
                _ => errors.push(FieldError::new("action", ACTIONS_MESSAGE)),
            },
            "actor_id" => match Uuid::try_parse(value) {
                Ok(id) => actor = Some(id),
                Err(_) => errors.push(FieldError::new("actor_id", "must be a UUID")),
            },
            "target_id" => match UserId::parse(value) {
                Ok(id) => target = Some(id),
                Err(_) => errors.push(FieldError::new("target_id", "must be a UUID")),
            },
            "since" => since = time(value, "since", errors),
            "until" => until = time(value, "until", errors),
            _ => {}
        },
    )?;
    match EventFilter::new(action, actor, target, since, until) {
        Ok(filter) if errors.is_empty() => match change {
            Some(change) => Ok((filter.with_change_action(change), page)),
            None => Ok((filter, page)),
        },
        Ok(_) => Err(ApiError::invalid_input(errors)),
        Err(e) => {
            errors.push(FieldError::new("since", e.to_string()));
            Err(ApiError::invalid_input(errors))
        }
    }
}

fn time(value: &str, field: &'static str, errors: &mut Vec<FieldError>) -> Option<DateTime<Utc>> {
    match DateTime::parse_from_rfc3339(value) {
        Ok(at) => Some(at.with_timezone(&Utc)),
        Err(_) => {
            errors.push(FieldError::new(
                field,
                "must be an RFC 3339 date-time, such as 2026-11-30T12:00:00Z",
            ));
            None
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserPageView {
    /// Each account as `GET /api/v1/users/{user_id}` shows it.
    users: Vec<UserView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<Uuid>,
}

impl From<&UserPage> for UserPageView {
    fn from(page: &UserPage) -> Self {
        Self {
            users: page.users.iter().map(UserView::from).collect(),
            next_cursor: page.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(error: ApiError) -> Vec<String> {
        assert_eq!(error.status().as_u16(), 422);
        error.data()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn search_parameters_are_checked() {
        let (filter, page) = search_params("").unwrap();
        assert_eq!(filter, UserFilter::default());
        assert_eq!(filter.status, StatusFilter::All);
        assert_eq!(page.limit, 20);
        let (filter, page) =
            search_params("q=%20Ada%20&status=inactive&role=admin&limit=5").unwrap();
        assert_eq!(filter.text.unwrap().as_str(), "ada");
        assert_eq!(filter.status, StatusFilter::Inactive);
        assert_eq!(filter.role, Some(Role::Admin));
        assert_eq!(page.limit, 5);
        let error = search_params("status=gone&role=root&limit=0&cursor=x&q=%00").unwrap_err();
        assert_eq!(fields(error), ["status", "role", "limit", "cursor", "q"]);
    }

    #[test]
    fn event_parameters_are_checked() {
        let id = Uuid::now_v7();
        let query = format!(
            "action=reactivated&actor_id={id}&target_id={id}&since=2026-11-30T12:00:00Z&until=2026-11-30T13:00:00%2B01:00"
        );
        let (filter, _) = event_params(&query).unwrap();
        assert_eq!(filter.action(), Some(AuditAction::Reactivated));
        assert_eq!(filter.actor(), Some(id));
        assert_eq!(filter.since(), filter.until(), "the same instant");
        let error =
            event_params("action=deleted&actor_id=1&target_id=x&since=yesterday").unwrap_err();
        assert_eq!(fields(error), ["action", "actor_id", "target_id", "since"]);
        let inverted = event_params("since=2026-11-30T12:00:01Z&until=2026-11-30T12:00:00Z");
        assert_eq!(fields(inverted.unwrap_err()), ["since"]);
    }
}
