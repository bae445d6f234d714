//! The Shared Signals transmitter as the server runs it: the streams' store, the SET key, the
//! pusher and the clock, with the two steps every path shares: signing a queued SET, and one
//! round of push delivery (the worker's, `workers/ssf.rs`).

use std::sync::Arc;

use chrono::TimeDelta;
use warden_auth::SetKey;
use warden_domain::ports::{Clock, SsfRepo, StoreError};
use warden_domain::{QueuedSet, SetFinish, Stream, StreamDelivery};
use warden_webhooks::{PushAnswer, SetPusher};

/// How long a claimed SET is leased: longer than one push may take (15 s).
const LEASE_SECONDS: i64 = 30;

#[derive(Clone)]
pub struct Transmitter {
    pub streams: Arc<dyn SsfRepo>,
    pub key: Arc<SetKey>,
    pub pusher: SetPusher,
    pub clock: Arc<dyn Clock>,
    /// `WARDEN_WEBHOOK_ALLOW_PRIVATE`: push endpoints may be plain http and private.
    pub allow_private: bool,
}

impl std::fmt::Debug for Transmitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transmitter")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// What one push round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PushRound {
    pub claimed: usize,
    pub delivered: usize,
}

impl Transmitter {
    /// `set` as the signed SET `stream`'s receiver gets from `issuer`.
    ///
    /// # Errors
    /// When it cannot be signed.
    pub fn sign(&self, issuer: &str, stream: &Stream, set: &QueuedSet) -> anyhow::Result<String> {
        self.key
            .sign(&warden_ssf::set_claims(issuer, &stream.audience, set))
    }

    /// Claims up to `limit` due SETs of push streams, pushes each, and records the answers.
    ///
    /// # Errors
    /// When the store fails to claim; a failure to record an answer is logged (the SET's
    /// lease ends and it is sent again: at least once).
    pub async fn push_round(&self, issuer: &str, limit: u32) -> Result<PushRound, StoreError> {
        let now = self.clock.now();
        let claimed = self
            .streams
            .claim_push(now, now + TimeDelta::seconds(LEASE_SECONDS), limit)
            .await?;
        let mut round = PushRound {
            claimed: claimed.len(),
            delivered: 0,
        };
        for (stream, set) in claimed {
            let StreamDelivery::Push {
                endpoint_url,
                authorization_header,
            } = &stream.delivery
            else {
                continue;
            };
            let (code, err) = match self.sign(issuer, &stream, &set) {
                Ok(token) => match self
                    .pusher
                    .push(endpoint_url, authorization_header.as_deref(), &token)
                    .await
                {
                    PushAnswer::Status { code, err } => (Some(code), err),
                    PushAnswer::NoAnswer(error) => {
                        tracing::info!(%error, jti = %set.jti, "SET push not answered");
                        (None, None)
                    }
                },
                Err(error) => {
                    tracing::error!(error = ?error, jti = %set.jti, "SET not signed");
                    (None, None)
                }
            };
            let finish =
                warden_ssf::push_finish(code, err.as_deref(), set.attempts, self.clock.now());
            if finish == SetFinish::Delivered {
                round.delivered += 1;
            } else {
                tracing::info!(jti = %set.jti, stream_id = %stream.id, ?finish, "SET push refused");
            }
            if let Err(error) = self
                .streams
                .finish_push(set.jti, code, finish, self.clock.now())
                .await
            {
                tracing::warn!(error = ?error, jti = %set.jti, "SET push outcome not recorded");
            }
        }
        Ok(round)
    }
}
