//! Webhook endpoints for admins: register one (its signing secret is shown once), list, read,
//! enable or disable, rotate the secret, delete; list an endpoint's deliveries and retry one.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;
use warden_domain::use_cases::{WebhookError, WebhookInput};
use warden_domain::{
    check_webhook_description, DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEventType,
    WebhookSecret,
};

use super::schemas::{AdminListFailures, BodyFailures, Empty, Envelope as Doc, InvalidInput};
use crate::http::AdminCaller;
use crate::http::{page_query, read_json, ApiError, Envelope, Fields};
use crate::run::state::AppState;

const EVENTS_MESSAGE: &str = "must be a non-empty list of: user.deactivated, user.reactivated";
const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;

/// Body of `POST /api/v1/webhooks`. Other fields are ignored.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct WebhookRequest {
    /// An `https` URL whose host is, and resolves only to, public addresses (unless
    /// `WARDEN_WEBHOOK_ALLOW_PRIVATE=true`). Redirects are not followed.
    #[schema(
        example = "https://billing.example.com/hooks/warden",
        max_length = 2048
    )]
    url: String,
    /// The event types to receive; absent or `null`: all, those added later included.
    #[schema(min_items = 1, example = json!(["user.deactivated"]))]
    events: Option<Vec<EventTypeName>>,
    #[schema(max_length = 500, example = "Billing revokes seats")]
    description: Option<String>,
}

/// Body of `PATCH /api/v1/webhooks/{id}`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct WebhookPatch {
    /// `true` re-enables an endpoint (after a 410 disabled it); `false` disables it.
    enabled: bool,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub enum EventTypeName {
    #[schema(rename = "user.deactivated")]
    UserDeactivated,
    #[schema(rename = "user.reactivated")]
    UserReactivated,
}

/// An endpoint as admins see it: never its secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    id: Uuid,
    url: String,
    description: Option<String>,
    #[schema(value_type = Vec<String>, example = json!(["user.deactivated", "user.reactivated"]))]
    events: Vec<&'static str>,
    /// `false` after a 410 Gone or a `PATCH`: no deliveries until enabled again.
    enabled: bool,
    created_at: DateTime<Utc>,
    /// The admin account that created it; null for one created before this was recorded.
    #[schema(format = Uuid)]
    created_by: Option<String>,
}

impl From<&WebhookEndpoint> for WebhookView {
    fn from(endpoint: &WebhookEndpoint) -> Self {
        Self {
            id: endpoint.id,
            url: endpoint.url.clone(),
            description: endpoint.description.clone(),
            events: endpoint
                .event_types()
                .into_iter()
                .map(WebhookEventType::as_str)
                .collect(),
            enabled: endpoint.enabled,
            created_at: endpoint.created_at,
            created_by: endpoint.created_by.map(|id| id.to_string()),
        }
    }
}

/// An endpoint with its signing secret, shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookWithSecretView {
    #[serde(flatten)]
    webhook: WebhookView,
    /// `whsec_` + base64 of 32 random bytes: the HMAC-SHA256 key of `webhook-signature`
    /// (Standard Webhooks v1). Not shown again.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYo=")]
    secret: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookListView {
    webhooks: Vec<WebhookView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    id: Uuid,
    /// The `webhook-id` header: the same on every attempt.
    event_id: Uuid,
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "user.deactivated")]
    event_type: &'static str,
    attempts: u32,
    /// The HTTP status of the last attempt; `null` before one, or when none came.
    last_status_code: Option<u16>,
    last_error: Option<String>,
    /// When the next attempt is due; `null` once delivered or failed.
    next_attempt_at: Option<DateTime<Utc>>,
    #[schema(value_type = String, example = "pending")]
    status: &'static str,
    /// When the change was made.
    created_at: DateTime<Utc>,
}

impl From<&WebhookDelivery> for DeliveryView {
    fn from(delivery: &WebhookDelivery) -> Self {
        Self {
            id: delivery.id,
            event_id: delivery.event_id,
            event_type: delivery.event_type.as_str(),
            attempts: delivery.attempts,
            last_status_code: delivery.last_status_code,
            last_error: delivery.last_error.clone(),
            next_attempt_at: (delivery.status == DeliveryStatus::Pending)
                .then_some(delivery.next_attempt_at),
            status: delivery.status.as_str(),
            created_at: delivery.at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryPageView {
    deliveries: Vec<DeliveryView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<Uuid>,
}

/// Register a webhook endpoint. Its signing secret is in the answer and nowhere else.
#[utoipa::path(
    post, path = "/api/v1/webhooks", tag = "webhooks",
    security(("bearer" = [])),
    request_body = WebhookRequest,
    responses(
        (status = 201, description = "`Webhook created successfully`", body = Doc<WebhookWithSecretView>),
        (status = 400, description = "`Could not read the request body` when the upload breaks off", body = Doc<Empty>),
        BodyFailures,
        AdminListFailures,
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    AdminCaller(admin): AdminCaller,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let mut fields = Fields::of(read_json(&req, body).await?)?;
    let url = fields.required_string("url");
    let description = fields.optional_string("description");
    if let Some(Err(problem)) = description.as_deref().map(check_webhook_description) {
        fields.reject::<()>("description", problem.to_string());
    }
    let events = match fields.take("events") {
        None | Some(Value::Null) => Some(None),
        Some(value) => match event_types(&value) {
            Some(types) => Some(Some(types)),
            None => fields.reject("events", EVENTS_MESSAGE),
        },
    };
    let url = match url {
        Some(url) => match state.services.webhook_targets.check(&url).await {
            Ok(_) => Some(url),
            Err(problem) => fields.reject("url", problem.to_string()),
        },
        None => None,
    };
    let input = fields.finish(url.zip(events).map(|(url, events)| WebhookInput {
        url,
        description: description.filter(|d| !d.trim().is_empty()),
        events,
    }))?;
    let endpoint = state
        .services
        .webhooks
        .create(&admin, input, new_secret())
        .await?;
    // From now on changes owe deliveries: wake the worker after each.
    state.after_commit.webhooks_due();
    let data = serde_json::to_value(with_secret(&endpoint)).map_err(|e| ApiError::internal(&e))?;
    Ok(Envelope::new(StatusCode::CREATED, "Webhook created successfully", data).into_response())
}

/// Every webhook endpoint, oldest first.
#[utoipa::path(
    get, path = "/api/v1/webhooks", tag = "webhooks",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`Webhooks retrieved successfully`", body = Doc<WebhookListView>),
        AdminListFailures,
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    AdminCaller(admin): AdminCaller,
) -> Result<HttpResponse, ApiError> {
    let endpoints = state.services.webhooks.list(&admin).await?;
    let view = WebhookListView {
        webhooks: endpoints.iter().map(WebhookView::from).collect(),
    };
    Ok(Envelope::ok_with("Webhooks retrieved successfully", view))
}

/// One webhook endpoint.
#[utoipa::path(
    get, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "`Webhook retrieved successfully`", body = Doc<WebhookView>),
        (status = 404, description = "`Webhook not found`, including ids that are not UUIDs", body = Doc<Empty>),
        AdminListFailures,
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    AdminCaller(admin): AdminCaller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let endpoint = state
        .services
        .webhooks
        .get(&admin, webhook_id(&path)?)
        .await?;
    Ok(Envelope::ok_with(
        "Webhook retrieved successfully",
        WebhookView::from(&endpoint),
    ))
}

/// Enable or disable a webhook endpoint (`{"enabled": true}` after a 410 Gone disabled it).
#[utoipa::path(
    patch, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The webhook's id")),
    request_body = WebhookPatch,
    responses(
        (status = 200, description = "`Webhook updated successfully`", body = Doc<WebhookView>),
        (status = 400, description = "`Could not read the request body` when the upload breaks off", body = Doc<Empty>),
        (status = 404, description = "`Webhook not found`, including ids that are not UUIDs", body = Doc<Empty>),
        BodyFailures,
        AdminListFailures,
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    AdminCaller(admin): AdminCaller,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = webhook_id(&path)?;
    let mut fields = Fields::of(read_json(&req, body).await?)?;
    let enabled = match fields.take("enabled") {
        Some(Value::Bool(enabled)) => Some(enabled),
        None | Some(Value::Null) => fields.reject("enabled", "is required"),
        Some(_) => fields.reject("enabled", "must be true or false"),
    };
    let enabled = fields.finish(enabled)?;
    let endpoint = state
        .services
        .webhooks
        .set_enabled(&admin, id, enabled)
        .await?;
    if enabled {
        // Deliveries that waited while it was disabled are due.
        state.after_commit.webhooks_due();
    }
    Ok(Envelope::ok_with(
        "Webhook updated successfully",
        WebhookView::from(&endpoint),
    ))
}

/// Delete a webhook endpoint and what it is still owed.
#[utoipa::path(
    delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "`Webhook deleted successfully`", body = Doc<Empty>),
        (status = 404, description = "`Webhook not found`, including ids that are not UUIDs", body = Doc<Empty>),
        AdminListFailures,
    )
)]
pub async fn delete(
    state: web::Data<AppState>,
    AdminCaller(admin): AdminCaller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .services
        .webhooks
        .delete(&admin, webhook_id(&path)?)
        .await?;
    Ok(Envelope::ok("Webhook deleted successfully"))
}

/// A new signing secret, shown this once. For 24 hours the previous secret signs too: each
/// request then carries two `v1,` entries in `webhook-signature`, so a receiver can switch
/// without missing an event.
#[utoipa::path(
    post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "`Webhook secret rotated successfully`", body = Doc<WebhookWithSecretView>),
        (status = 404, description = "`Webhook not found`, including ids that are not UUIDs", body = Doc<Empty>),
        AdminListFailures,
    )
)]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    AdminCaller(admin): AdminCaller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let endpoint = state
        .services
        .webhooks
        .rotate_secret(&admin, webhook_id(&path)?, new_secret())
        .await?;
    Ok(Envelope::ok_with(
        "Webhook secret rotated successfully",
        with_secret(&endpoint),
    ))
}

/// The endpoint's deliveries, newest event first.
#[utoipa::path(
    get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The webhook's id"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Deliveries per page (default 20)"),
        ("cursor" = Option<String>, Query, format = Uuid, description = "The `next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "`Deliveries retrieved successfully`", body = Doc<DeliveryPageView>),
        (status = 404, description = "`Webhook not found`, including ids that are not UUIDs", body = Doc<Empty>),
        (status = 422, description = "`Invalid input`: a bad `limit` or `cursor`", body = Doc<InvalidInput>),
        AdminListFailures,
    )
)]
pub async fn deliveries(
    state: web::Data<AppState>,
    AdminCaller(admin): AdminCaller,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = webhook_id(&path)?;
    let (page, errors) = page_query(req.query_string(), DEFAULT_PAGE, MAX_PAGE, |_, _, _| {})?;
    if !errors.is_empty() {
        return Err(ApiError::invalid_input(errors));
    }
    let found = state
        .services
        .webhooks
        .deliveries(&admin, id, page.cursor, page.limit)
        .await?;
    let next_cursor = (found.len() == page.limit as usize)
        .then(|| found.last().map(|d| d.event_id))
        .flatten();
    Ok(Envelope::ok_with(
        "Deliveries retrieved successfully",
        DeliveryPageView {
            deliveries: found.iter().map(DeliveryView::from).collect(),
            next_cursor,
        },
    ))
}

/// Try a pending or failed delivery again now (same `webhook-id`).
#[utoipa::path(
    post, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/retry", tag = "webhooks",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The webhook's id"),
        ("delivery_id" = String, Path, description = "The delivery's id"),
    ),
    responses(
        (status = 200, description = "`Delivery queued for retry`", body = Doc<Empty>),
        (status = 400, description = "`Delivery was already delivered`", body = Doc<Empty>),
        (status = 404, description = "`Webhook not found` or `Delivery not found`, including ids that are not UUIDs", body = Doc<Empty>),
        (status = 409, description = "`Delivery is being sent right now`", body = Doc<Empty>),
        AdminListFailures,
    )
)]
pub async fn retry(
    state: web::Data<AppState>,
    AdminCaller(admin): AdminCaller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, delivery) = path.into_inner();
    let id = webhook_id(&id)?;
    let delivery = Uuid::try_parse(&delivery).map_err(|_| WebhookError::DeliveryNotFound)?;
    state.services.webhooks.retry(&admin, id, delivery).await?;
    state.after_commit.webhooks_due();
    Ok(Envelope::ok("Delivery queued for retry"))
}

fn webhook_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::try_parse(text).map_err(|_| WebhookError::NotFound.into())
}

/// A fresh signing secret: 32 bytes from the operating system's CSPRNG (through `rand`).
fn new_secret() -> WebhookSecret {
    WebhookSecret::from_bytes(rand::random::<[u8; 32]>())
}

fn with_secret(endpoint: &WebhookEndpoint) -> WebhookWithSecretView {
    WebhookWithSecretView {
        webhook: WebhookView::from(endpoint),
        secret: endpoint.secret.expose(),
    }
}

/// A non-empty array of known event type names, duplicates allowed.
fn event_types(value: &Value) -> Option<Vec<WebhookEventType>> {
    let items = value.as_array().filter(|items| !items.is_empty())?;
    items
        .iter()
        .map(|item| item.as_str().and_then(|t| WebhookEventType::parse(t).ok()))
        .collect()
}

impl From<WebhookError> for ApiError {
    fn from(error: WebhookError) -> Self {
        match error {
            WebhookError::NotFound => Self::not_found("Webhook not found"),
            WebhookError::DeliveryNotFound => Self::not_found("Delivery not found"),
            WebhookError::AlreadyDelivered => Self::bad_request("Delivery was already delivered"),
            WebhookError::InFlight => {
                Self::new(StatusCode::CONFLICT, "Delivery is being sent right now")
            }
            WebhookError::ActorRevoked => crate::http::revoked_at_commit(),
            WebhookError::Store(store) => store.into(),
            other => Self::internal(&other),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn event_types_are_a_non_empty_list_of_known_names() {
        assert_eq!(
            event_types(&json!(["user.reactivated", "user.deactivated"])),
            Some(vec![
                WebhookEventType::UserReactivated,
                WebhookEventType::UserDeactivated
            ])
        );
        for bad in [
            json!([]),
            json!("user.deactivated"),
            json!(["user.deleted"]),
            json!([1]),
        ] {
            assert_eq!(event_types(&bad), None, "{bad}");
        }
    }

    #[test]
    fn secrets_are_fresh_and_32_bytes() {
        let (a, b) = (new_secret().expose(), new_secret().expose());
        assert_ne!(a, b);
        assert_eq!(a.len(), "whsec_".len() + 44);
    }
}
