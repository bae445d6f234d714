//! Concurrent status changes by admins, grouped into one statement.
//!
//! A status change is one statement, and PostgreSQL spends most of its time on the statement
//! itself, not on the rows: executor start-up, one commit and its WAL flush. Measured with
//! pgbench on a 2-core machine (docs/benchmarks.md): about 390 µs per change run alone, 80 to
//! 115 µs per change when eight run as one statement. So each HTTP worker thread queues the
//! unguarded changes its requests make, and up to [`MAX_RUNNING`] tasks each take a connection,
//! the queue's next group of up to [`MAX_GROUP`] changes (distinct targets), and apply them in
//! one statement ([`GROUPED_BY_ADMIN`]). While a group is in flight the next one fills up, so
//! the groups grow with the load, and a lone request is a group of one (the single statement).
//!
//! Each change in a group keeps every guarantee of the single statement: its own actor re-check
//! (account active, still an admin, on its token version) in the statement's snapshot, its own
//! target condition, its own audit event, outbox entry and webhook deliveries, all atomic (a
//! statement is a transaction). Two changes of one target never share a group (an `UPDATE ...
//! FROM` that matches a row twice applies one of them at random). A group is one transaction,
//! so a failure (a deadlock with a concurrent group, say) would fail all of it: the group is
//! then applied again one change at a time, each with its own result. A group runs as a task of
//! its own: a request whose client hangs up does not stop its change.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use diesel::result::QueryResult;
use diesel::sql_types::{
    Array, BigInt, Bool, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tokio::sync::oneshot;
use uuid::Uuid;
use warden_domain::ports::StoreError;
use warden_domain::{Authority, StatusChange};

use crate::errors::from_diesel;
use crate::prepared::Prepared;
use crate::rows::StatusRow;
use crate::status_change::{apply, Binds, BY_ADMIN};
use crate::PgStore;

/// The most changes one statement applies.
pub(crate) const MAX_GROUP: usize = 64;
/// The most groups of one thread in flight at once (each on a connection of its own).
pub(crate) const MAX_RUNNING: usize = 4;
/// A change that finds groups in flight starts another only when this many changes per group
/// in flight are waiting: small groups in parallel cost the database more per change than
/// large ones in turn, and at 16 concurrent requests they served fewer (docs/benchmarks.md).
pub(crate) const GROUP_TO_START: usize = 8;

/// The admin-authority change of [`crate::status_change`] for many changes: the same binds, as
/// arrays with one element per change (`input.n` is the change's place in them). What each
/// column means is documented on `change_sql!` ($1 to $21, in that order). Returns, per change,
/// `n` and the row the single statement would return; no row for a change whose target does
/// not exist.
pub(crate) const GROUPED_BY_ADMIN: &str = "\
WITH input AS (
    -- Each array through a sub-select: the planner then does not see its length, so a generic
    -- plan serves every group (with the arrays visible, it planned every execution anew).
    SELECT * FROM unnest((SELECT $1::uuid[]), (SELECT $2::timestamptz[]), (SELECT $3::uuid[]),
                         (SELECT $4::text[]), (SELECT $5::uuid[]), (SELECT $6::uuid[]),
                         (SELECT $7::int4[]), (SELECT $8::text[]), (SELECT $9::text[]),
                         (SELECT $10::bool[]), (SELECT $11::timestamptz[]), (SELECT $12::uuid[]),
                         (SELECT $13::text[]), (SELECT $14::bool[]), (SELECT $15::text[]),
                         (SELECT $16::text[]), (SELECT $17::text[]), (SELECT $18::uuid[]),
                         (SELECT $19::timestamptz[]), (SELECT $20::timestamptz[]),
                         (SELECT $21::text[]))
        WITH ORDINALITY AS input(target_id, at, actor_id, reason, event_id, notification_id,
                                 actor_version, actor_kind, actor_name, new_active,
                                 new_deactivated_at, new_deactivated_by, new_reason,
                                 requires_active, guarded_role, actor_role, action, client_id,
                                 new_until, due_at, event_type, n)
), target AS (
    UPDATE users SET is_active = input.new_active, deactivated_at = input.new_deactivated_at,
           deactivated_by = input.new_deactivated_by, deactivation_reason = input.new_reason,
           deactivated_until = input.new_until, updated_at = input.at,
           token_version = users.token_version + 1
      FROM input
     WHERE users.id = input.target_id AND users.is_active = input.requires_active
       AND (input.due_at IS NULL OR users.deactivated_until <= input.due_at)
       AND users.role IS DISTINCT FROM input.guarded_role
       AND EXISTS (SELECT 1 FROM users AS actor
                    WHERE actor.id = input.actor_id AND actor.is_active
                      AND actor.role = input.actor_role AND actor.token_version = input.actor_version)
 RETURNING input.n, input.at, input.actor_id, input.reason, input.event_id,
           input.notification_id, input.actor_kind, input.actor_name, input.action,
           input.client_id, input.new_until, input.event_type,
           users.id, users.email, users.first_name, users.last_name, users.role, users.is_active,
           users.deactivated_at, users.deactivated_by, users.deactivation_reason,
           users.token_version, users.created_at, users.updated_at, users.deactivated_until
), event AS (
    INSERT INTO audit_events (id, user_id, actor_id, action, reason, created_at,
                              actor_kind, actor_name, actor_client_id)
    SELECT event_id, id, actor_id, action, reason, at, actor_kind, actor_name, client_id
      FROM target
), notification AS (
    INSERT INTO outbox (id, action, recipient, recipient_first_name, reason, occurred_at,
                        next_attempt_at, suspended_until)
    SELECT notification_id, action, email, first_name, reason, at, at, new_until FROM target
), webhook AS (
    INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, email,
                                    next_attempt_at)
    SELECT gen_random_uuid(), hook.id, target.event_id, target.event_type, target.email, target.at
      FROM target, webhook_endpoints AS hook
     WHERE hook.enabled AND (hook.events IS NULL OR target.event_type = ANY (hook.events))
)
SELECT n, TRUE AS applied, TRUE AS actor_ok, id, email, first_name, last_name, role, is_active,
       deactivated_at, deactivated_by, deactivation_reason, token_version, created_at,
       updated_at, deactivated_until
  FROM target
UNION ALL
SELECT input.n, FALSE,
       EXISTS (SELECT 1 FROM users AS actor
                WHERE actor.id = input.actor_id AND actor.is_active
                  AND actor.role = input.actor_role AND actor.token_version = input.actor_version),
       users.id, users.email, users.first_name, users.last_name, users.role, users.is_active,
       users.deactivated_at, users.deactivated_by, users.deactivation_reason,
       users.token_version, users.created_at, users.updated_at, users.deactivated_until
  FROM input JOIN users ON users.id = input.target_id
 WHERE NOT EXISTS (SELECT 1 FROM target WHERE target.n = input.n)";

/// What the single statement returns for one change, and that change's place in the group.
#[derive(QueryableByName)]
struct GroupRow {
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(embed)]
    row: StatusRow,
}

/// A change's answer: the change back (its caller judges the row against it) and the row.
type Answer = Result<(StatusChange, Option<StatusRow>), StoreError>;

struct Pending {
    change: StatusChange,
    reply: oneshot::Sender<Answer>,
}

#[derive(Default)]
struct Queue {
    waiting: VecDeque<Pending>,
    /// Tasks applying groups now.
    running: usize,
}

/// One thread's queue of changes to group (see the module). Cloning shares it.
#[derive(Clone, Default)]
pub(crate) struct ChangeGroups {
    queue: Arc<Mutex<Queue>>,
}

impl ChangeGroups {
    /// Whether `change` may join a group: only admins' changes do (the grouped statement
    /// re-checks an admin's authority, nothing else).
    pub(crate) fn accepts(change: &StatusChange) -> bool {
        matches!(change.actor.authority(), Authority::Admin { .. })
    }

    /// Applies `change` with the unguarded statement, in a group with whatever changes of this
    /// thread are waiting. `store` must be the store whose thread pool this queue belongs to.
    pub(crate) async fn apply(&self, store: &PgStore, change: StatusChange) -> Answer {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut queue = self.lock();
            queue.waiting.push_back(Pending { change, reply });
            let start = queue.running < MAX_RUNNING
                && queue.waiting.len() >= GROUP_TO_START * queue.running;
            if start {
                queue.running += 1;
            }
            start
        };
        if start {
            store.spawn(self.clone().run(store.clone()));
        }
        answer.await.map_err(|_| {
            StoreError::other("the status change's group ended without answering it")
        })?
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies groups until the queue is empty.
    async fn run(self, store: PgStore) {
        let mut running = Running {
            groups: self.clone(),
            counted: true,
        };
        loop {
            let group = {
                let mut queue = self.lock();
                let group = next_group(&mut queue.waiting);
                if group.is_empty() {
                    queue.running -= 1;
                    running.counted = false;
                    return;
                }
                group
            };
            for (reply, answer) in group_answers(&store, group).await {
                // The caller may have gone (its client hung up): the change stands anyway.
                let _ = reply.send(answer);
            }
        }
    }
}

/// Counts a task out of [`Queue::running`] should it end without emptying the queue (a panic):
/// the next change then starts a task of its own.
struct Running {
    groups: ChangeGroups,
    counted: bool,
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.counted {
            self.groups.lock().running -= 1;
        }
    }
}

/// Takes the next group off the queue: in order, up to [`MAX_GROUP`] changes, skipping (and
/// leaving queued, in order) a change whose target is already in the group.
fn next_group(waiting: &mut VecDeque<Pending>) -> Vec<Pending> {
    let mut group: Vec<Pending> = Vec::new();
    let mut left = VecDeque::new();
    while let Some(pending) = waiting.pop_front() {
        if group.len() == MAX_GROUP {
            left.push_back(pending);
            left.append(waiting);
            break;
        }
        if group
            .iter()
            .any(|taken| taken.change.target == pending.change.target)
        {
            left.push_back(pending);
        } else {
            group.push(pending);
        }
    }
    *waiting = left;
    group
}

/// Applies `group`; pairs each change's reply with its answer.
async fn group_answers(
    store: &PgStore,
    group: Vec<Pending>,
) -> Vec<(oneshot::Sender<Answer>, Answer)> {
    let mut conn = match store.conn().await {
        Ok(conn) => conn,
        Err(err) => {
            // Each change fails as the checkout did (same kind, same cause).
            let unavailable = matches!(err, StoreError::Unavailable(_));
            let cause = format!("{:#}", anyhow::Error::new(err));
            let error = |cause: String| {
                if unavailable {
                    StoreError::unavailable(cause)
                } else {
                    StoreError::other(cause)
                }
            };
            return group
                .into_iter()
                .map(|pending| (pending.reply, Err(error(cause.clone()))))
                .collect();
        }
    };
    if group.len() > 1 {
        match apply_group(&mut conn, &group).await {
            Ok(mut rows) => {
                return group
                    .into_iter()
                    .zip(1_i64..)
                    .map(|(Pending { change, reply }, n)| {
                        let row = rows.iter().position(|row| row.n == n);
                        let row = row.map(|at| rows.swap_remove(at).row);
                        (reply, Ok((change, row)))
                    })
                    .collect();
            }
            Err(error) => tracing::warn!(
                %error,
                changes = group.len(),
                "a group of status changes failed; applying them one at a time"
            ),
        }
    }
    let mut answers = Vec::with_capacity(group.len());
    for Pending { change, reply } in group {
        let row = apply(&mut conn, BY_ADMIN.unguarded, &Binds::of(&change)).await;
        answers.push((reply, row.map(|row| (change, row)).map_err(from_diesel)));
    }
    answers
}

/// [`GROUPED_BY_ADMIN`] for `group`.
async fn apply_group(
    conn: &mut AsyncPgConnection,
    group: &[Pending],
) -> QueryResult<Vec<GroupRow>> {
    let columns = Columns::of(group);
    Prepared(
        diesel::sql_query(GROUPED_BY_ADMIN)
            .bind::<Array<SqlUuid>, _>(columns.target)
            .bind::<Array<Timestamptz>, _>(columns.at)
            .bind::<Array<Nullable<SqlUuid>>, _>(columns.actor)
            .bind::<Array<Nullable<Text>>, _>(columns.reason)
            .bind::<Array<SqlUuid>, _>(columns.event_id)
            .bind::<Array<SqlUuid>, _>(columns.notification_id)
            .bind::<Array<Nullable<Integer>>, _>(columns.token_version)
            .bind::<Array<Text>, _>(columns.actor_kind)
            .bind::<Array<Text>, _>(columns.actor_name)
            .bind::<Array<Bool>, _>(columns.is_active)
            .bind::<Array<Nullable<Timestamptz>>, _>(columns.deactivated_at)
            .bind::<Array<Nullable<SqlUuid>>, _>(columns.deactivated_by)
            .bind::<Array<Nullable<Text>>, _>(columns.deactivation_reason)
            .bind::<Array<Bool>, _>(columns.requires_active)
            .bind::<Array<Nullable<Text>>, _>(columns.guarded_role)
            .bind::<Array<Text>, _>(columns.actor_role)
            .bind::<Array<Text>, _>(columns.action)
            .bind::<Array<Nullable<SqlUuid>>, _>(columns.client)
            .bind::<Array<Nullable<Timestamptz>>, _>(columns.until)
            .bind::<Array<Nullable<Timestamptz>>, _>(columns.only_if_due_at)
            .bind::<Array<Text>, _>(columns.event_type),
    )
    .load::<GroupRow>(conn)
    .await
}

/// The binds of a group, one array per parameter of the single statement.
#[derive(Default)]
struct Columns<'a> {
    target: Vec<Uuid>,
    at: Vec<DateTime<Utc>>,
    actor: Vec<Option<Uuid>>,
    reason: Vec<Option<&'a str>>,
    event_id: Vec<Uuid>,
    notification_id: Vec<Uuid>,
    token_version: Vec<Option<i32>>,
    actor_kind: Vec<&'static str>,
    actor_name: Vec<&'a str>,
    is_active: Vec<bool>,
    deactivated_at: Vec<Option<DateTime<Utc>>>,
    deactivated_by: Vec<Option<Uuid>>,
    deactivation_reason: Vec<Option<String>>,
    requires_active: Vec<bool>,
    guarded_role: Vec<Option<&'static str>>,
    actor_role: Vec<&'static str>,
    action: Vec<&'static str>,
    client: Vec<Option<Uuid>>,
    until: Vec<Option<DateTime<Utc>>>,
    only_if_due_at: Vec<Option<DateTime<Utc>>>,
    event_type: Vec<&'static str>,
}

impl<'a> Columns<'a> {
    fn of(group: &'a [Pending]) -> Self {
        let mut columns = Columns::default();
        for pending in group {
            let binds = Binds::of(&pending.change);
            columns.target.push(binds.target);
            columns.at.push(binds.at);
            columns.actor.push(binds.actor_account);
            columns.reason.push(binds.reason);
            columns.event_id.push(binds.event_id);
            columns.notification_id.push(binds.notification_id);
            columns.token_version.push(binds.token_version);
            columns.actor_kind.push(binds.actor_kind);
            columns.actor_name.push(binds.actor_name);
            columns.is_active.push(binds.is_active);
            columns.deactivated_at.push(binds.deactivated_at);
            columns.deactivated_by.push(binds.deactivated_by);
            columns.deactivation_reason.push(binds.deactivation_reason);
            columns.requires_active.push(binds.requires_active);
            columns.guarded_role.push(binds.guarded_role);
            columns.actor_role.push(binds.actor_role);
            columns.action.push(binds.action);
            columns.client.push(binds.client);
            columns.until.push(binds.until);
            columns.only_if_due_at.push(binds.only_if_due_at);
            columns.event_type.push(binds.event_type);
        }
        columns
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_domain::{Actor, StatusAction, UserId};

    fn pending(target: UserId) -> Pending {
        let (reply, _) = oneshot::channel();
        let change = StatusChange {
            action: StatusAction::Deactivate,
            target,
            actor: Actor::system(),
            reason: None,
            at: chrono::Utc::now(),
            event_id: Uuid::now_v7(),
            notification_id: Uuid::now_v7(),
            until: None,
            only_if_due_at: None,
        };
        Pending { change, reply }
    }

    fn targets(queue: &VecDeque<Pending>) -> Vec<UserId> {
        queue.iter().map(|p| p.change.target).collect()
    }

    #[test]
    fn a_group_takes_distinct_targets_in_order_and_leaves_the_rest_queued_in_order() {
        let (a, b, c) = (UserId::generate(), UserId::generate(), UserId::generate());
        let mut waiting: VecDeque<Pending> = [a, b, a, c, b].into_iter().map(pending).collect();
        let group = next_group(&mut waiting);
        let taken: Vec<UserId> = group.iter().map(|p| p.change.target).collect();
        assert_eq!(taken, vec![a, b, c]);
        assert_eq!(targets(&waiting), vec![a, b]);
        let group = next_group(&mut waiting);
        assert_eq!(group.len(), 2);
        assert!(waiting.is_empty());
        assert!(next_group(&mut waiting).is_empty());
    }

    #[test]
    fn a_group_holds_at_most_max_group_changes() {
        let ids: Vec<UserId> = (0..MAX_GROUP + 3).map(|_| UserId::generate()).collect();
        let mut waiting: VecDeque<Pending> = ids.iter().copied().map(pending).collect();
        let group = next_group(&mut waiting);
        assert_eq!(group.len(), MAX_GROUP);
        assert_eq!(targets(&waiting), ids[MAX_GROUP..].to_vec());
    }
}
