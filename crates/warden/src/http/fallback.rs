use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use serde_json::json;

use super::Envelope;

/// The default service: no route has this path.
pub async fn route_not_found() -> HttpResponse {
    Envelope::new(StatusCode::NOT_FOUND, "Route not found", json!({})).into_response()
}

/// A resource's default service: the path exists, the method does not. `allow` lists the
/// methods it has (`GET, POST`).
pub fn method_not_allowed(allow: String) -> actix_web::Route {
    actix_web::web::to(move || {
        let allow = allow.clone();
        async move {
            let mut response = Envelope::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "Method not allowed",
                json!({}),
            )
            .into_response();
            if let Ok(value) = header::HeaderValue::from_str(&allow) {
                response.headers_mut().insert(header::ALLOW, value);
            }
            response
        }
    })
}
