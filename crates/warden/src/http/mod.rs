//! The HTTP edge: the response envelope, the one public error type, request parsing helpers and
//! the middleware that gives every response a request id and an envelope.

mod api_error;
mod bearer;
mod client_addr;
mod connection;
mod envelope;
mod fallback;
mod fields;
mod idempotency;
mod json_body;
mod paging;
mod request_context;
mod security_headers;
mod unread_body;

pub use api_error::{
    revoked_at_commit, ApiError, FieldError, INTERNAL_MESSAGE, UNAVAILABLE_MESSAGE,
};
pub use bearer::bearer_token;
pub use client_addr::{client_key, TrustedProxies};
pub use connection::Connection;
pub use envelope::Envelope;
pub use fallback::{method_not_allowed, route_not_found};
pub use fields::Fields;
pub use idempotency::Idempotency;
pub use json_body::{parse_json, read_bytes, read_bytes_up_to, read_json, BodyTimeout, BODY_LIMIT};
pub use paging::{page_query, PageQuery};
pub use request_context::{request_context, RequestId};
pub use security_headers::DOCS_CSP;
