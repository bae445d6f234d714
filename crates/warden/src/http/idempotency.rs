//! Safe retries at the HTTP edge: the `Idempotency-Key` request header and the
//! `Idempotency-Replayed` response header. The rules are the domain's
//! ([`warden_domain::IdempotencyPolicy`]); this module reads the header, reserves the key,
//! runs the request, and stores or replays its answer.
//!
//! Only authenticated admins get here (a 401/403 is answered before and never stored). An
//! answer below 500 is stored and replayed as sent; a 5xx releases the key so a retry acts
//! afresh. Expired keys are purged opportunistically: one bounded purge every
//! [`PURGE_EVERY`] reservations of this process.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use actix_web::body::{to_bytes, BoxBody};
use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use chrono::SubsecRound;
use warden_domain::ports::{Clock, IdempotencyStore};
use warden_domain::{
    Fingerprint, IdempotencyDecision, IdempotencyKey, IdempotencyPolicy, IdempotencyScope,
    StoredResponse,
};

use super::{ApiError, FieldError};

/// The request header naming a retryable request.
pub const KEY_HEADER: &str = "Idempotency-Key";
/// The response header set (`true`) on a replayed answer.
pub const REPLAYED_HEADER: &str = "Idempotency-Replayed";
pub const IN_PROGRESS: &str = "A request with this idempotency key is in progress";
pub const REUSED: &str = "Idempotency key reused with a different request";

/// One purge of expired keys per this many reservations (per process).
const PURGE_EVERY: u64 = 64;
/// The most expired keys one purge deletes.
const PURGE_LIMIT: u32 = 1000;

/// The key store and the clock, shared by the routes that accept `Idempotency-Key`.
#[derive(Clone)]
pub struct Idempotency {
    store: Arc<dyn IdempotencyStore>,
    clock: Arc<dyn Clock>,
    reservations: Arc<AtomicU64>,
}

impl std::fmt::Debug for Idempotency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idempotency").finish_non_exhaustive()
    }
}

impl Idempotency {
    pub fn new(store: Arc<dyn IdempotencyStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            reservations: Arc::default(),
        }
    }

    /// Runs `act` for `actor`, unless the request's `Idempotency-Key` says otherwise: replays a
    /// stored answer (with `Idempotency-Replayed: true`), or refuses (409 in progress, 422
    /// reused with another body, 422 malformed key). Without the header, just runs `act`.
    ///
    /// # Errors
    /// Those of `act`, the refusals above, and a store failure (503/500) before acting.
    pub async fn run(
        &self,
        req: &HttpRequest,
        actor: impl std::fmt::Display,
        body: &[u8],
        act: impl Future<Output = Result<HttpResponse, ApiError>>,
    ) -> Result<HttpResponse, ApiError> {
        let Some(key) = key_of(req)? else {
            return act.await;
        };
        let route = format!(
            "{} {}",
            req.method(),
            req.match_pattern().unwrap_or_else(|| req.path().to_owned())
        );
        let scope = IdempotencyScope::new(actor, route, key);
        let now = self.clock.now().trunc_subsecs(6);
        match self
            .store
            .reserve(&scope, &Fingerprint::of_body(body), now)
            .await?
        {
            IdempotencyDecision::Proceed => {}
            IdempotencyDecision::Replay(stored) => return Ok(replay(stored)),
            IdempotencyDecision::InProgress => {
                return Err(ApiError::new(StatusCode::CONFLICT, IN_PROGRESS))
            }
            IdempotencyDecision::Mismatch => {
                return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, REUSED))
            }
            other => return Err(ApiError::internal(&other)),
        }
        self.purge_now_and_then(now);
        let outcome = act.await;
        let status = match &outcome {
            Ok(response) => response.status(),
            Err(error) => error.status(),
        };
        if !IdempotencyPolicy::stores(status.as_u16()) {
            if let Err(err) = self.store.release(&scope, now).await {
                tracing::warn!(error = ?err, "could not release an idempotency key");
            }
            return outcome;
        }
        let (outcome, stored) = match outcome {
            Ok(response) => {
                let (response, stored) = capture(response).await?;
                (Ok(response), stored)
            }
            Err(error) => {
                let (_, stored) = capture(error.error_response()).await?;
                (Err(error), stored)
            }
        };
        if let Err(err) = self.store.complete(&scope, now, &stored).await {
            // The request acted: the key stays in flight until abandoned (60 s).
            tracing::warn!(error = ?err, "could not store an idempotent answer");
        }
        outcome
    }

    fn purge_now_and_then(&self, now: chrono::DateTime<chrono::Utc>) {
        if self.reservations.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY != 0 {
            return;
        }
        let store = self.store.clone();
        tokio::spawn(async move {
            let before = IdempotencyPolicy::expired_before(now);
            match store.purge_idempotency(before, PURGE_LIMIT).await {
                Ok(purged) if purged > 0 => {
                    tracing::info!(purged, "expired idempotency keys purged")
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(error = ?err, "could not purge idempotency keys"),
            }
        });
    }
}

/// The request's key: `None` without the header; a 422 on `Idempotency-Key` when it is
/// repeated, empty, longer than 255 or not visible ASCII.
fn key_of(req: &HttpRequest) -> Result<Option<IdempotencyKey>, ApiError> {
    let mut values = req.headers().get_all(KEY_HEADER);
    let Some(first) = values.next() else {
        return Ok(None);
    };
    let malformed =
        |message: String| ApiError::invalid_input(vec![FieldError::new(KEY_HEADER, message)]);
    if values.next().is_some() {
        return Err(malformed("must be sent once".to_owned()));
    }
    let text = first
        .to_str()
        .map_err(|_| malformed(warden_domain::InvalidIdempotencyKey.to_string()))?;
    IdempotencyKey::parse(text)
        .map(Some)
        .map_err(|invalid| malformed(invalid.to_string()))
}

/// The response rebuilt with its body read, and that body as stored.
async fn capture(response: HttpResponse) -> Result<(HttpResponse, StoredResponse), ApiError> {
    let status = response.status().as_u16();
    let (head, body) = response.into_parts();
    let bytes = to_bytes(body)
        .await
        .map_err(|err| ApiError::internal(&err.to_string()))?;
    let stored = StoredResponse {
        status,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    };
    Ok((head.set_body(BoxBody::new(bytes)), stored))
}

fn replay(stored: StoredResponse) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((REPLAYED_HEADER, "true"))
        .body(stored.body)
}
