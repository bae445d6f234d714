//! A [`ScimError`] as actix sends it: its status, `application/scim+json`, `no-store`, and the
//! headers its status calls for (`WWW-Authenticate` on 401, `Retry-After` on 503, the
//! connection closed on 408).

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use warden_domain::ports::StoreError;
use warden_domain::use_cases::{ClientAccessError, ProvisionError};
use warden_scim::{ScimError, CONTENT_TYPE};

use crate::http::ApiError;

/// What a SCIM handler or extractor refuses with.
#[derive(Debug)]
pub struct HttpScimError(pub ScimError);

impl HttpScimError {
    fn status_code_of(error: &ScimError) -> StatusCode {
        StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn into_response(self) -> HttpResponse {
        self.error_response()
    }
}

impl std::fmt::Display for HttpScimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for HttpScimError {
    fn status_code(&self) -> StatusCode {
        Self::status_code_of(&self.0)
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let mut response = HttpResponse::build(status);
        response
            .content_type(CONTENT_TYPE)
            .insert_header((header::CACHE_CONTROL, "no-store"));
        match status {
            StatusCode::UNAUTHORIZED => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"warden\""));
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            // The rest of a late body may still be on its way: nothing after it could be read
            // as a new request.
            StatusCode::REQUEST_TIMEOUT => {
                response.force_close();
            }
            _ => {}
        }
        match serde_json::to_vec(&self.0.body()) {
            Ok(body) => response.body(body),
            Err(_) => response.finish(),
        }
    }
}

impl From<ScimError> for HttpScimError {
    fn from(error: ScimError) -> Self {
        Self(error)
    }
}

impl From<StoreError> for HttpScimError {
    fn from(error: StoreError) -> Self {
        Self(error.into())
    }
}

impl From<ClientAccessError> for HttpScimError {
    fn from(error: ClientAccessError) -> Self {
        Self(error.into())
    }
}

impl From<ProvisionError> for HttpScimError {
    fn from(error: ProvisionError) -> Self {
        Self(error.into())
    }
}

/// The refusals of the shared HTTP helpers (body too large or too slow), in SCIM's format.
impl From<ApiError> for HttpScimError {
    fn from(error: ApiError) -> Self {
        let status = error.status();
        let detail = status.canonical_reason().unwrap_or("Error");
        Self(ScimError::new(status.as_u16(), detail))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_scim_crate_words_failures_as_the_api_does() {
        assert_eq!(
            warden_scim::error::INTERNAL_MESSAGE,
            crate::http::INTERNAL_MESSAGE
        );
        assert_eq!(
            warden_scim::error::UNAVAILABLE_MESSAGE,
            crate::http::UNAVAILABLE_MESSAGE
        );
    }
}
