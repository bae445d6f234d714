//! [`SsfRepo`] for [`MemoryStore`]: streams and the SETs owed to them, behind one lock taken
//! after the accounts' (as a status change takes them).

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use warden_domain::ports::{SsfRepo, StoreError};
use warden_domain::{
    PollRequest, QueuedSet, SecurityEventType, SetFinish, StatusChange, Stream, StreamDelivery,
    StreamStatus, User,
};

use crate::MemoryStore;

#[derive(Debug)]
struct Owed {
    set: QueuedSet,
    due: DateTime<Utc>,
    settled: bool,
}

#[derive(Debug, Default)]
struct State {
    streams: Vec<Stream>,
    /// Every SET, in order (the index is its `seq`).
    events: Vec<Owed>,
}

/// The streams and SETs of a [`MemoryStore`].
#[derive(Debug, Default)]
pub(crate) struct Streams(Mutex<State>);

impl Streams {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The SETs `change` owes, written with it (the caller holds the accounts' lock).
    pub(crate) fn enqueue(&self, change: &StatusChange, user: &User, at: DateTime<Utc>) {
        let mut state = self.lock();
        let mut new = Vec::new();
        for event_type in SecurityEventType::of(change.action) {
            for stream in state.streams.iter().filter(|s| {
                s.status != StreamStatus::Disabled && s.events_delivered.contains(event_type)
            }) {
                new.push(Owed {
                    set: QueuedSet {
                        jti: Uuid::new_v4(),
                        stream_id: stream.id,
                        txn: change.event_id,
                        event_type: *event_type,
                        subject: Some(*user.id.as_uuid()),
                        occurred_at: at,
                        actor_kind: Some(change.actor.kind()),
                        reason: change.reason.as_ref().map(|r| r.as_str().to_owned()),
                        state: None,
                        attempts: 0,
                    },
                    due: at,
                    settled: false,
                });
            }
        }
        state.events.extend(new);
    }
}

impl MemoryStore {
    fn owns(&self, state: &State, client: Uuid, id: Uuid) -> Option<usize> {
        if !self.clients.is_live(client) {
            return None;
        }
        state
            .streams
            .iter()
            .position(|s| s.id == id && s.client_id == client)
    }
}

#[async_trait]
impl SsfRepo for MemoryStore {
    async fn create_stream(&self, stream: Stream) -> Result<Option<Stream>, StoreError> {
        let mut state = self.ssf.lock();
        if !self.clients.is_live(stream.client_id) {
            return Ok(None);
        }
        if state.streams.iter().any(|s| s.id == stream.id) {
            return Err(StoreError::Conflict("stream id taken".into()));
        }
        let stream = Stream {
            created_at: crate::memory_store::micros(stream.created_at),
            ..stream
        };
        state.streams.push(stream.clone());
        Ok(Some(stream))
    }

    async fn streams(&self, client: Uuid) -> Result<Vec<Stream>, StoreError> {
        let state = self.ssf.lock();
        Ok(state
            .streams
            .iter()
            .filter(|s| s.client_id == client)
            .cloned()
            .collect())
    }

    async fn stream(&self, client: Uuid, id: Uuid) -> Result<Option<Stream>, StoreError> {
        let state = self.ssf.lock();
        Ok(state
            .streams
            .iter()
            .find(|s| s.id == id && s.client_id == client)
            .cloned())
    }

    async fn update_stream(&self, stream: Stream) -> Result<Option<Stream>, StoreError> {
        let mut state = self.ssf.lock();
        let Some(i) = self.owns(&state, stream.client_id, stream.id) else {
            return Ok(None);
        };
        let stored = &mut state.streams[i];
        stored.delivery = stream.delivery;
        stored.events_requested = stream.events_requested;
        stored.events_delivered = stream.events_delivered;
        stored.description = stream.description;
        Ok(Some(stored.clone()))
    }

    async fn delete_stream(&self, client: Uuid, id: Uuid) -> Result<bool, StoreError> {
        let mut state = self.ssf.lock();
        let Some(i) = self.owns(&state, client, id) else {
            return Ok(false);
        };
        state.streams.remove(i);
        state.events.retain(|e| e.set.stream_id != id);
        Ok(true)
    }

    async fn set_status(
        &self,
        client: Uuid,
        id: Uuid,
        status: StreamStatus,
        reason: Option<String>,
    ) -> Result<Option<Stream>, StoreError> {
        let mut state = self.ssf.lock();
        let Some(i) = self.owns(&state, client, id) else {
            return Ok(None);
        };
        state.streams[i].status = status;
        state.streams[i].status_reason = reason;
        let stream = state.streams[i].clone();
        if status == StreamStatus::Disabled {
            state.events.retain(|e| e.set.stream_id != id || e.settled);
        }
        Ok(Some(stream))
    }

    async fn enqueue(&self, client: Uuid, set: QueuedSet) -> Result<bool, StoreError> {
        let mut state = self.ssf.lock();
        let Some(i) = self.owns(&state, client, set.stream_id) else {
            return Ok(false);
        };
        if state.streams[i].status == StreamStatus::Disabled {
            return Ok(false);
        }
        let due = set.occurred_at;
        state.events.push(Owed {
            set,
            due,
            settled: false,
        });
        Ok(true)
    }

    async fn claim_push(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(Stream, QueuedSet)>, StoreError> {
        let mut state = self.ssf.lock();
        let State { streams, events } = &mut *state;
        let mut seen = HashSet::new();
        let mut claimed = Vec::new();
        for owed in events.iter_mut().filter(|e| !e.settled) {
            if !seen.insert(owed.set.stream_id) {
                continue;
            }
            let Some(stream) = streams.iter().find(|s| s.id == owed.set.stream_id) else {
                continue;
            };
            let push = matches!(stream.delivery, StreamDelivery::Push { .. });
            if push && stream.status == StreamStatus::Enabled && owed.due <= now {
                owed.due = lease_until;
                owed.set.attempts += 1;
                claimed.push((stream.clone(), owed.set.clone()));
                if claimed.len() >= usize::try_from(limit).unwrap_or(usize::MAX) {
                    break;
                }
            }
        }
        Ok(claimed)
    }

    async fn finish_push(
        &self,
        jti: Uuid,
        _status: Option<u16>,
        finish: SetFinish,
        _now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut state = self.ssf.lock();
        if let Some(owed) = state
            .events
            .iter_mut()
            .find(|e| e.set.jti == jti && !e.settled)
        {
            match finish {
                SetFinish::Delivered | SetFinish::Failed(_) => owed.settled = true,
                SetFinish::RetryAt(at, _) => owed.due = at,
            }
        }
        Ok(())
    }

    async fn poll(
        &self,
        client: Uuid,
        id: Uuid,
        request: PollRequest,
        _now: DateTime<Utc>,
    ) -> Result<Option<(Vec<QueuedSet>, bool)>, StoreError> {
        let mut state = self.ssf.lock();
        let Some(i) = self.owns(&state, client, id) else {
            return Ok(None);
        };
        if state.streams[i].delivery != StreamDelivery::Poll {
            return Ok(None);
        }
        let enabled = state.streams[i].status == StreamStatus::Enabled;
        let settled: HashSet<Uuid> = request
            .ack
            .iter()
            .copied()
            .chain(request.set_errs.iter().map(|(jti, _)| *jti))
            .collect();
        for owed in state.events.iter_mut().filter(|e| e.set.stream_id == id) {
            if settled.contains(&owed.set.jti) {
                owed.settled = true;
            }
        }
        if !enabled {
            return Ok(Some((Vec::new(), false)));
        }
        let owed: Vec<QueuedSet> = state
            .events
            .iter()
            .filter(|e| e.set.stream_id == id && !e.settled)
            .map(|e| e.set.clone())
            .collect();
        let max = usize::try_from(request.max_events).unwrap_or(usize::MAX);
        let more = owed.len() > max;
        Ok(Some((owed.into_iter().take(max).collect(), more)))
    }
}
