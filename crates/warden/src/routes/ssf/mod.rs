//! Shared Signals (SSF 1.0) transmitter endpoints, in SSF's own JSON (not the envelope): the
//! discovery document ([`discovery`]), stream management for receivers ([`streams`]) and RFC
//! 8936 polling ([`poll`]). Receivers are machine clients with a bearer token: `ssf.manage`
//! to change streams, `ssf.read` (or `ssf.manage`) to read them and poll.

pub mod discovery;
pub mod poll;
pub mod streams;

use std::fmt;

use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use futures_util::future::LocalBoxFuture;
use serde_json::{json, Value};
use uuid::Uuid;
use warden_domain::ports::StoreError;
use warden_domain::use_cases::ClientAccessError;
use warden_domain::Scope;
use warden_ssf::BadRequest;

use crate::http::bearer_token;
use crate::run::state::AppState;

/// The configuration endpoint (streams).
pub const STREAMS_PATH: &str = "/ssf/streams";
pub const STATUS_PATH: &str = "/ssf/status";
pub const VERIFY_PATH: &str = "/ssf/verify";
pub const ADD_SUBJECT_PATH: &str = "/ssf/subjects/add";
pub const REMOVE_SUBJECT_PATH: &str = "/ssf/subjects/remove";
/// A poll stream's endpoint: this, then `/` and the stream id.
pub const POLL_PATH: &str = "/ssf/poll";

/// An SSF endpoint's refusal: `{"error", "description"}`, with the status of its kind.
#[derive(Debug)]
pub enum SsfError {
    /// No bearer token, or not a live client's: 401.
    Unauthorized,
    /// A live client without the scope: 403.
    Forbidden,
    /// 400 with a description of what is wrong.
    BadRequest(String),
    /// No such stream of the caller's: 404.
    NotFound,
    /// The store is unavailable: 503.
    Unavailable,
    Internal,
}

impl fmt::Display for SsfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl SsfError {
    /// Logs `cause` and answers 500 (the cause never reaches the client).
    pub fn internal(cause: &dyn fmt::Debug) -> Self {
        tracing::error!(cause = ?cause, "SSF request failed");
        Self::Internal
    }
}

impl From<BadRequest> for SsfError {
    fn from(error: BadRequest) -> Self {
        Self::BadRequest(error.0)
    }
}

impl From<StoreError> for SsfError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => {
                tracing::warn!(cause = ?error, "SSF store unavailable");
                Self::Unavailable
            }
            other => Self::internal(&other),
        }
    }
}

impl ResponseError for SsfError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (error, description) = match self {
            Self::Unauthorized => ("invalid_token", "a client bearer token is required"),
            Self::Forbidden => ("insufficient_scope", "the client lacks the scope required"),
            Self::BadRequest(description) => ("invalid_request", description.as_str()),
            Self::NotFound => ("not_found", "no such stream"),
            Self::Unavailable => ("temporarily_unavailable", "try again shortly"),
            Self::Internal => ("server_error", "internal error"),
        };
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        match self {
            Self::Unauthorized => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            Self::Forbidden => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    r#"Bearer error="insufficient_scope""#,
                ));
            }
            Self::Unavailable => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            _ => {}
        }
        response.json(json!({"error": error, "description": description}))
    }
}

/// A receiver: a live machine client holding `ssf.manage`, or for [`Reader`] `ssf.read`.
#[derive(Debug, Clone, Copy)]
pub struct Receiver {
    pub client: Uuid,
}

/// A receiver that may change its streams (`ssf.manage`).
#[derive(Debug)]
pub struct Manager(pub Receiver);

/// A receiver that may read its streams and poll them (`ssf.read` or `ssf.manage`).
#[derive(Debug)]
pub struct Reader(pub Receiver);

async fn receiver(req: HttpRequest, scopes: &[Scope]) -> Result<Receiver, SsfError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| SsfError::internal(&"the application state is not registered"))?;
    let mut refused = SsfError::Forbidden;
    for scope in scopes {
        match state
            .services
            .client_auth
            .client(bearer_token(&req), *scope)
            .await
        {
            Ok(client) => {
                let id = client.client().id;
                tracing::Span::current().record("actor_id", tracing::field::display(id));
                return Ok(Receiver { client: id });
            }
            Err(ClientAccessError::Unauthenticated(_)) => return Err(SsfError::Unauthorized),
            Err(ClientAccessError::Forbidden(_)) => refused = SsfError::Forbidden,
            Err(ClientAccessError::Store(error)) => return Err(error.into()),
            Err(other) => return Err(SsfError::internal(&other)),
        }
    }
    Err(refused)
}

impl FromRequest for Manager {
    type Error = SsfError;
    type Future = LocalBoxFuture<'static, Result<Self, SsfError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { receiver(req, &[Scope::SsfManage]).await.map(Manager) })
    }
}

impl FromRequest for Reader {
    type Error = SsfError;
    type Future = LocalBoxFuture<'static, Result<Self, SsfError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            receiver(req, &[Scope::SsfRead, Scope::SsfManage])
                .await
                .map(Reader)
        })
    }
}

/// The body as JSON.
fn json_body(body: &[u8]) -> Result<Value, SsfError> {
    serde_json::from_slice(body)
        .map_err(|_| SsfError::BadRequest("the body must be a JSON object".into()))
}

/// `?stream_id=` of the request, when given.
fn query_stream_id(req: &HttpRequest) -> Result<Option<Uuid>, SsfError> {
    let found = url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(name, _)| name == "stream_id")
        .map(|(_, value)| value.into_owned());
    match found {
        None => Ok(None),
        Some(text) => Ok(Some(warden_ssf::config::parse_stream_id(&text)?)),
    }
}

/// `body` as JSON, with `Cache-Control: no-store`.
fn answer(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}
