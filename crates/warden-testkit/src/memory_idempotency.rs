//! [`MemoryIdempotencyStore`]: the in-memory [`IdempotencyStore`], held to the same conformance
//! checks ([`crate::contract`]) as PostgreSQL and SQLite. One mutex guards every record, so
//! each call is one atomic step.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use warden_domain::ports::{IdempotencyStore, StoreError};
use warden_domain::{
    Fingerprint, IdempotencyDecision, IdempotencyPolicy, IdempotencyRecord, IdempotencyScope,
    StoredResponse,
};

/// Idempotency keys in memory. Cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct MemoryIdempotencyStore {
    records: Mutex<HashMap<IdempotencyScope, IdempotencyRecord>>,
}

impl MemoryIdempotencyStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn records(&self) -> std::sync::MutexGuard<'_, HashMap<IdempotencyScope, IdempotencyRecord>> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl IdempotencyStore for MemoryIdempotencyStore {
    async fn reserve(
        &self,
        scope: &IdempotencyScope,
        fingerprint: &Fingerprint,
        now: DateTime<Utc>,
    ) -> Result<IdempotencyDecision, StoreError> {
        let now = now.trunc_subsecs(6);
        let mut records = self.records();
        let decision = IdempotencyPolicy::decide(records.get(scope), fingerprint, now);
        if decision == IdempotencyDecision::Proceed {
            records.insert(
                scope.clone(),
                IdempotencyRecord {
                    fingerprint: fingerprint.clone(),
                    reserved_at: now,
                    response: None,
                },
            );
        }
        Ok(decision)
    }

    async fn complete(
        &self,
        scope: &IdempotencyScope,
        reserved_at: DateTime<Utc>,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        if let Some(record) = self.records().get_mut(scope) {
            if record.response.is_none() && record.reserved_at == reserved_at.trunc_subsecs(6) {
                record.response = Some(response.clone());
            }
        }
        Ok(())
    }

    async fn release(
        &self,
        scope: &IdempotencyScope,
        reserved_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut records = self.records();
        if records.get(scope).is_some_and(|record| {
            record.response.is_none() && record.reserved_at == reserved_at.trunc_subsecs(6)
        }) {
            records.remove(scope);
        }
        Ok(())
    }

    async fn purge_idempotency(
        &self,
        reserved_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let mut records = self.records();
        let expired: Vec<IdempotencyScope> = records
            .iter()
            .filter(|(_, record)| record.reserved_at < reserved_before)
            .map(|(scope, _)| scope.clone())
            .take(limit as usize)
            .collect();
        for scope in &expired {
            records.remove(scope);
        }
        Ok(expired.len() as u64)
    }
}
