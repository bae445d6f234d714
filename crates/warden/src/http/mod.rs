//! The HTTP edge: the response envelope, the one public error type, request parsing helpers and
//! the middleware that gives every response a request id and an envelope.

mod api_error;
mod bearer;
mod client_addr;
mod connection;
mod connection_limit;
mod envelope;
mod fallback;
mod fields;
mod idempotency;
mod json_body;
mod origin;
mod paging;
mod principals;
mod request_context;
mod security_headers;
mod unread_body;

pub use api_error::{
    revoked_at_commit, ApiError, FieldError, INTERNAL_MESSAGE, TOO_MANY_CONNECTIONS,
    UNAVAILABLE_MESSAGE,
};
pub use bearer::bearer_token;
pub use client_addr::{client_key, TrustedProxies};
pub use connection::Connection;
pub use connection_limit::{over_limit, ConnectionLimit};
pub use envelope::Envelope;
pub use fallback::{method_not_allowed, route_not_found};
pub use fields::Fields;
pub use idempotency::Idempotency;
pub use json_body::{parse_json, read_bytes, read_bytes_up_to, read_json, BodyTimeout, BODY_LIMIT};
pub use origin::request_origin;
pub use paging::{page_query, PageQuery};
pub use principals::{AdminCaller, AuditCaller, StaffCaller, UserCaller};
pub use request_context::{request_context, RequestId};
pub use security_headers::DOCS_CSP;
