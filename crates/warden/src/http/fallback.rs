use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use super::Envelope;

/// The default service: no route has this path. Under `/scim/v2`, a SCIM error.
pub async fn route_not_found(req: HttpRequest) -> HttpResponse {
    if crate::routes::scim::is_scim_path(req.path()) {
        return crate::routes::scim::fallback(StatusCode::NOT_FOUND, "Route not found");
    }
    Envelope::new(StatusCode::NOT_FOUND, "Route not found", json!({})).into_response()
}

/// A resource's default service: the path exists, the method does not. `allow` lists the
/// methods it has (`GET, POST`).
pub fn method_not_allowed(allow: String) -> actix_web::Route {
    actix_web::web::to(move |req: HttpRequest| {
        let allow = allow.clone();
        async move {
            let mut response = if crate::routes::scim::is_scim_path(req.path()) {
                crate::routes::scim::fallback(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
            } else {
                Envelope::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "Method not allowed",
                    json!({}),
                )
                .into_response()
            };
            if let Ok(value) = header::HeaderValue::from_str(&allow) {
                response.headers_mut().insert(header::ALLOW, value);
            }
            response
        }
    })
}
