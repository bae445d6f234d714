//! `GET /api/v1/events/export`: the audit trail for SIEM collectors, as NDJSON, oldest first,
//! after a cursor that never skips or repeats an event (the store's promise:
//! [`warden_domain::ports::AuditExport`]).

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use warden_domain::ports::{ExportError, ExportPosition};
use warden_domain::use_cases::{ExportLimit, InvalidExportLimit};

use super::export_formats::Format;
use super::schemas::{AdminListFailures, Empty, Envelope as Doc, InvalidInput};
use crate::http::{ApiError, AuditCaller, FieldError};
use crate::run::state::AppState;

/// The NDJSON media type.
pub const NDJSON: &str = "application/x-ndjson";

/// `format`, `cursor`, `limit`.
#[derive(Debug)]
struct ExportQuery {
    format: Format,
    cursor: Option<ExportPosition>,
    limit: ExportLimit,
}

fn export_query(query: &str) -> Result<ExportQuery, ApiError> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query)
        .map_err(|_| ApiError::invalid_input(vec![FieldError::new("query", "is malformed")]))?;
    let mut errors = Vec::new();
    let (mut format, mut cursor, mut limit) =
        (Format::Ocsf, None, ExportLimit::new(ExportLimit::DEFAULT));
    for (name, value) in pairs.into_inner() {
        match name.as_str() {
            "format" => match Format::parse(&value) {
                Some(parsed) => format = parsed,
                None => errors.push(FieldError::new("format", "must be ocsf, ecs or warden")),
            },
            "cursor" if value.is_empty() => cursor = None,
            "cursor" => match value.parse::<ExportPosition>() {
                Ok(position) => cursor = Some(position),
                Err(_) => errors.push(FieldError::new(
                    "cursor",
                    "must be a cursor from a previous page",
                )),
            },
            "limit" => {
                limit = value
                    .parse::<u32>()
                    .map_err(|_| InvalidExportLimit)
                    .and_then(ExportLimit::new);
                if limit.is_err() {
                    errors.push(FieldError::new(
                        "limit",
                        format!("must be a whole number from 1 to {}", ExportLimit::MAX),
                    ));
                }
            }
            _ => {}
        }
    }
    match limit {
        Ok(limit) if errors.is_empty() => Ok(ExportQuery {
            format,
            cursor,
            limit,
        }),
        _ => Err(ApiError::invalid_input(errors)),
    }
}

/// The `format` of `GET /api/v1/events/export`, for the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum FormatName {
    Ocsf,
    Ecs,
    Warden,
}

/// The audit trail as NDJSON for SIEM collectors (OCSF, ECS or Warden's own events), oldest
/// first. Follow the `Link: <...>; rel="next"` header forever: every committed event arrives
/// exactly once, in a stable order; an empty page's `next` is to be polled again later.
#[utoipa::path(
    get, path = "/api/v1/events/export", tag = "users",
    security(("bearer" = [])),
    params(
        ("format" = inline(Option<FormatName>), Query, description = "`ocsf` (OCSF 1.5.0 Account Change, class 3001; the default), `ecs` (Elastic Common Schema) or `warden` (the event as `GET /api/v1/events` shows it)"),
        ("cursor" = Option<String>, Query, description = "From the previous answer's `Link: rel=\"next\"` (opaque); absent: from the oldest kept event"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Events per answer (default 100)"),
    ),
    responses(
        (status = 200, description = "A machine client holding the scope `audit` may call it too (403 without it). One event per line (`application/x-ndjson`), not enveloped; `Link: <...>; rel=\"next\"` continues after the last line (also when there is none)", content_type = "application/x-ndjson", body = String,
            headers(("Link" = String, description = "`<URL>; rel=\"next\"`"))),
        (status = 410, description = "`Cursor expired`: the retention (`WARDEN_AUDIT_RETENTION_DAYS`) deleted events after the cursor; start again without one", body = Doc<Empty>),
        (status = 422, description = "`Invalid input`: a bad `format`, `limit` or `cursor`", body = Doc<InvalidInput>),
        AdminListFailures,
    )
)]
pub async fn export(
    state: web::Data<AppState>,
    AuditCaller(reader): AuditCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = export_query(req.query_string())?;
    let page = state
        .services
        .export_audit
        .page(&reader, query.cursor, query.limit)
        .await
        .map_err(|error| match error {
            ExportError::Expired => ApiError::new(StatusCode::GONE, "Cursor expired"),
            ExportError::Store(error) => error.into(),
        })?;
    let mut body = Vec::with_capacity(page.events.len() * 512);
    for event in &page.events {
        serde_json::to_writer(&mut body, &query.format.line(event))
            .map_err(|error| ApiError::internal(&error))?;
        body.push(b'\n');
    }
    let mut next = format!(
        "/api/v1/events/export?format={}&limit={}",
        query.format.as_str(),
        query.limit.get()
    );
    if let Some(position) = page.next {
        next.push_str(&format!("&cursor={position}"));
    }
    let link = format!("<{}>; rel=\"next\"", state.public_url.at(&next));
    let mut response = HttpResponse::Ok().content_type(NDJSON).body(body);
    if let Ok(value) = HeaderValue::from_str(&link) {
        response.headers_mut().insert(header::LINK, value);
    }
    Ok(response)
}
