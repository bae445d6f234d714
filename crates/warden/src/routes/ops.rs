//! Operations: liveness, readiness and metrics.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use serde::Serialize;
use serde_json::json;

use super::schemas::{Empty, Envelope as Doc};
use crate::http::Envelope;
use crate::run::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// `up` or `down`.
    #[schema(value_type = String, example = "up")]
    database: &'static str,
    /// Notifications not yet delivered.
    outbox_pending: u64,
    /// Notifications given up on (see the logs and docs/operations.md).
    outbox_failed: u64,
}

/// The process is up and serving HTTP.
///
/// Served on the operations listener instead when `WARDEN_OPS_ADDR` is set.
#[utoipa::path(
    get, path = "/health/live", tag = "operations",
    responses((status = 200, description = "`Alive`", body = Doc<Empty>))
)]
pub async fn live() -> HttpResponse {
    Envelope::ok("Alive")
}

/// The database answers; also reports the notification backlog.
///
/// Served on the operations listener instead when `WARDEN_OPS_ADDR` is set.
#[utoipa::path(
    get, path = "/health/ready", tag = "operations",
    responses(
        (status = 200, description = "`Ready`", body = Doc<Readiness>),
        (status = 503, description = "`Service temporarily unavailable`: the database does not answer", body = Doc<Empty>,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
    )
)]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    match state.services.outbox.stats().await {
        Ok(stats) => Envelope::ok_with(
            "Ready",
            Readiness {
                database: "up",
                outbox_pending: stats.pending,
                outbox_failed: stats.failed,
            },
        ),
        Err(error) => {
            tracing::warn!(error = ?error, "not ready");
            let mut response = Envelope::new(
                StatusCode::SERVICE_UNAVAILABLE,
                crate::http::UNAVAILABLE_MESSAGE,
                json!({ "database": "down" }),
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            response
        }
    }
}

/// Prometheus metrics in the OpenMetrics text format (see docs/operations.md).
///
/// Served on the operations listener instead when `WARDEN_OPS_ADDR` is set.
#[utoipa::path(
    get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text", body = String))
)]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let stats = state.services.outbox.stats().await.ok();
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.render(stats))
}
