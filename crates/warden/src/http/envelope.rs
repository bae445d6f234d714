use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde::Serialize;
use serde_json::{json, Value};

/// The one shape of every response body: `{"status", "status_code", "message", "data"}`.
#[derive(Debug, Serialize)]
pub struct Envelope {
    status: &'static str,
    status_code: u16,
    message: String,
    data: Value,
}

impl Envelope {
    pub fn new(status: StatusCode, message: impl Into<String>, data: Value) -> Self {
        let outcome = if status.is_success() {
            "success"
        } else {
            "error"
        };
        Self {
            status: outcome,
            status_code: status.as_u16(),
            message: message.into(),
            data,
        }
    }

    /// 200 with an empty `data` object.
    pub fn ok(message: &str) -> HttpResponse {
        Self::new(StatusCode::OK, message, json!({})).into_response()
    }

    /// 200 with `data`.
    pub fn ok_with(message: &str, data: impl Serialize) -> HttpResponse {
        let data = serde_json::to_value(data).unwrap_or_else(|_| json!({}));
        Self::new(StatusCode::OK, message, data).into_response()
    }

    pub fn into_response(self) -> HttpResponse {
        let status =
            StatusCode::from_u16(self.status_code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        HttpResponse::build(status).json(self)
    }
}
