use std::panic::AssertUnwindSafe;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, HttpResponse, ResponseError};
use futures_util::FutureExt;
use serde_json::json;
use tracing::Instrument;
use uuid::Uuid;

use super::api_error::INTERNAL_MESSAGE;
use super::security_headers::PageKind;
use super::unread_body::UnreadBody;
use super::Envelope;
use crate::observability::metrics::Metrics;

/// The id of one request: from a well-formed incoming `x-request-id`, or freshly made. It names
/// the request's log span and is echoed in the response's `x-request-id` header.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

const REQUEST_ID: &str = "x-request-id";

/// Outermost middleware. For every request it
/// - opens a log span carrying the request id (and, once known, the actor and target ids);
/// - turns a panic in any handler into an enveloped 500 instead of a dropped connection;
/// - puts any error response that is not already an envelope (framework errors) into one;
/// - sets `x-request-id` on the response and logs one line per request;
/// - sets the security headers of [`PageKind`] on every response;
/// - closes the connection after the answer when a chunked body was left unread
///   ([`UnreadBody`]).
pub async fn request_context(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let request_id = incoming_id(&req).unwrap_or_else(|| Uuid::now_v7().to_string());
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = req.method().to_string();
    let page = PageKind::of(req.path());
    let unread = UnreadBody::watch(&mut req);
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %req.method(),
        path = %req.path(),
        actor_id = tracing::field::Empty,
        target_id = tracing::field::Empty,
    );
    let started = Instant::now();
    let in_flight = metrics.as_ref().map(|metrics| metrics.request_started());
    let outcome = AssertUnwindSafe(next.call(req))
        .catch_unwind()
        .instrument(span.clone())
        .await;
    if let Some(unread) = unread {
        unread.settle();
    }
    let (status, route, result) = match outcome {
        Ok(Ok(response)) => {
            let mut response = envelope_errors(response.map_into_boxed_body());
            set_request_id(response.headers_mut(), &request_id);
            page.set_headers(response.headers_mut());
            let route = response
                .request()
                .match_pattern()
                .unwrap_or_else(|| "unmatched".into());
            (response.status(), route, Ok(response))
        }
        // The request was consumed by the failed service, so the response is made by the
        // error itself, in the envelope, when actix renders it.
        Ok(Err(error)) => {
            let status = error.as_response_error().status_code();
            (
                status,
                "unknown".into(),
                Err(Failed::new(status, request_id, page).into()),
            )
        }
        Err(_) => {
            span.in_scope(|| tracing::error!("handler panicked"));
            let status = StatusCode::INTERNAL_SERVER_ERROR;
            (
                status,
                "unknown".into(),
                Err(Failed::new(status, request_id, page).into()),
            )
        }
    };
    drop(in_flight);
    if let Some(metrics) = metrics {
        metrics.observe_request(&method, &route, status.as_u16(), started.elapsed());
    }
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request finished"
        );
    });
    result
}

/// A request that ended without a response of its own (a panic, a failed middleware): it
/// answers with the generic envelope for its status and the request id.
#[derive(Debug)]
struct Failed {
    status: StatusCode,
    request_id: String,
    page: PageKind,
}

impl Failed {
    fn new(status: StatusCode, request_id: String, page: PageKind) -> Self {
        Self {
            status,
            request_id,
            page,
        }
    }
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "request {} failed with {}", self.request_id, self.status)
    }
}

impl ResponseError for Failed {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = generic(self.status);
        set_request_id(response.headers_mut(), &self.request_id);
        self.page.set_headers(response.headers_mut());
        response
    }
}

fn set_request_id(headers: &mut header::HeaderMap, request_id: &str) {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert(header::HeaderName::from_static(REQUEST_ID), value);
    }
}

fn incoming_id(req: &ServiceRequest) -> Option<String> {
    let id = req.headers().get(REQUEST_ID)?.to_str().ok()?;
    let well_formed = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    well_formed.then(|| id.to_owned())
}

/// Error responses made by the framework itself (a malformed request line, an extractor's
/// refusal) carry plain text; clients get the envelope instead. SCIM's errors are JSON of
/// their own type (`application/scim+json`) and stay as they are.
fn envelope_errors(response: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.starts_with("application/json") || v.starts_with("application/scim+json")
        });
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        let (req, _) = response.into_parts();
        return ServiceResponse::new(req, generic(status));
    }
    response
}

fn generic(status: StatusCode) -> HttpResponse {
    let message = match status {
        StatusCode::INTERNAL_SERVER_ERROR => INTERNAL_MESSAGE,
        status => status.canonical_reason().unwrap_or("Error"),
    };
    Envelope::new(status, message, json!({})).into_response()
}

#[cfg(test)]
mod tests {
    use actix_web::middleware::from_fn;
    use actix_web::{test, web, App, HttpResponse};
    use serde_json::Value;

    use super::*;

    async fn panics() -> HttpResponse {
        panic!("boom: secret internals")
    }

    async fn plain_error() -> HttpResponse {
        HttpResponse::BadRequest().body("plain text from the framework")
    }

    /// What a client would receive: the response, or the rendered error.
    async fn respond(req: test::TestRequest) -> (HttpResponse<()>, Value) {
        let app = test::init_service(
            App::new()
                .wrap(from_fn(request_context))
                .route("/panic", web::get().to(panics))
                .route("/plain", web::get().to(plain_error)),
        )
        .await;
        let response = match test::try_call_service(&app, req.to_request()).await {
            Ok(response) => response.into_parts().1,
            Err(error) => error.error_response(),
        };
        let (response, body) = response.into_parts();
        let bytes = actix_web::body::to_bytes(body).await.unwrap();
        (
            response.drop_body(),
            serde_json::from_slice(&bytes).unwrap(),
        )
    }

    fn request_id(response: &HttpResponse<()>) -> &str {
        response
            .headers()
            .get(REQUEST_ID)
            .unwrap()
            .to_str()
            .unwrap()
    }

    #[actix_web::test]
    async fn a_panic_becomes_an_enveloped_500_with_a_request_id() {
        let (response, body) = respond(test::TestRequest::get().uri("/panic")).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(Uuid::parse_str(request_id(&response)).is_ok());
        assert_eq!(body["message"], INTERNAL_MESSAGE);
        assert_eq!(body["status"], "error");
        assert_eq!(body["status_code"], 500);
        assert!(!body.to_string().contains("secret"));
        assert_eq!(
            response
                .headers()
                .get(header::X_CONTENT_TYPE_OPTIONS)
                .unwrap(),
            "nosniff"
        );
    }

    #[actix_web::test]
    async fn plain_error_bodies_are_wrapped_and_incoming_ids_kept() {
        let req = test::TestRequest::get()
            .uri("/plain")
            .insert_header((REQUEST_ID, "trace-123"));
        let (response, body) = respond(req).await;
        assert_eq!(request_id(&response), "trace-123");
        assert_eq!(body["status_code"], 400);
        assert_eq!(body["message"], "Bad Request");
        assert_eq!(body["data"], serde_json::json!({}));
    }

    #[actix_web::test]
    async fn malformed_incoming_ids_are_replaced() {
        let req = test::TestRequest::get()
            .uri("/plain")
            .insert_header((REQUEST_ID, "bad id\twith<junk>"));
        let (response, _) = respond(req).await;
        assert!(Uuid::parse_str(request_id(&response)).is_ok());
    }
}
