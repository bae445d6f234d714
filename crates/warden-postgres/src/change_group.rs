//! Concurrent status changes by admins, grouped into one statement.
//!
//! A status change is one statement, and PostgreSQL spends most of its time on the statement
//! itself, not on the rows: executor start-up, one commit and its WAL flush. Measured with
//! pgbench on a 2-core machine (docs/benchmarks.md): about 390 µs per change run alone, 80 to
//! 115 µs per change when eight run as one statement. So each HTTP worker thread queues the
//! admin changes its requests make, and up to [`MAX_RUNNING`] tasks (never more than the
//! thread's own connections) each take a connection, the queue's next group of up to
//! [`MAX_GROUP`] changes (distinct targets), and apply them in one statement (`status_sql`,
//! `Shape::Group`). While a group is in flight the next one fills up, so the groups grow with
//! the load; a lone request is a group of one.
//!
//! A change's fate is its own:
//! - Each change keeps every guarantee of the single statement: its own actor re-check in the
//!   statement's snapshot, its own target condition, its own audit event, outbox entry and
//!   webhook deliveries, all atomic.
//! - The group locks its targets' rows in one order (by id) and skips a row locked elsewhere
//!   (`SKIP LOCKED`): that change comes back undecided and its caller applies it alone, waiting
//!   for the lock within its own deadline. A row held by a long transaction delays only the
//!   change that targets it, and two groups sharing targets cannot deadlock.
//! - Two changes of one target never share a group (an `UPDATE ... FROM` that matches a row
//!   twice applies one of them at random).
//! - A group statement that fails with an answer from the server wrote nothing: each change is
//!   then applied alone, by its caller, on a connection of its own. One whose answer never came
//!   (the connection was lost) may have committed: each caller then looks for its change's
//!   audit event (`status_change::settle`).
//! - A group runs as a task of its own: a request whose client hangs up does not stop its change,
//!   and a group that panics fails its own changes only; the queue goes on.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use diesel::result::QueryResult;
use diesel::sql_types::BigInt;
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tokio::sync::oneshot;
use warden_domain::ports::StoreError;
use warden_domain::{Authority, StatusChange};

use crate::prepared::Prepared;
use crate::rows::StatusRow;
use crate::status_change::fate_unknown;
use crate::status_sql::{bind_all, statements, Columns, Holder};
use crate::PgStore;

/// The most changes one statement applies.
pub(crate) const MAX_GROUP: usize = 64;
/// The most groups of one thread in flight at once (each on a connection of its own), when the
/// thread has at least as many connections.
pub(crate) const MAX_RUNNING: usize = 4;
/// A change that finds groups in flight starts another only when this many changes per group
/// in flight are waiting: small groups in parallel cost the database more per change than
/// large ones in turn, and at 16 concurrent requests they served fewer (docs/benchmarks.md).
pub(crate) const GROUP_TO_START: usize = 8;

/// Group statements that failed in this process (for tests: `testing::failed_group_statements`).
static FAILED: AtomicU64 = AtomicU64::new(0);

#[cfg(feature = "testing")]
pub(crate) fn failed_statements() -> u64 {
    AtomicU64::load(&FAILED, Ordering::Relaxed)
}

/// What the group's statement found for one change, in the single statement's terms (its row,
/// `skipped` when its target was locked elsewhere; `None`: no such target); or that the
/// statement failed as a whole and surely wrote nothing: apply the change alone; or that its
/// answer never came (`Unknown`, with what went wrong and when the statement was sent): the
/// change may have committed.
#[derive(Debug)]
pub(crate) enum GroupAnswer {
    Found(Option<Box<StatusRow>>),
    Alone,
    Unknown(String, Instant),
}

/// A change's answer: the change back (its caller judges the row against it) and the answer.
type Answer = Result<(StatusChange, GroupAnswer), StoreError>;

/// A row of the group's statement: the single statement's row and the change's place (`n`,
/// from 1, in the order the group was bound).
#[derive(QueryableByName)]
struct GroupRow {
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(embed)]
    row: StatusRow,
}

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
#[derive(Clone)]
pub(crate) struct ChangeGroups {
    queue: Arc<Mutex<Queue>>,
    /// The most group tasks in flight: [`MAX_RUNNING`], or fewer when the thread has fewer
    /// connections of its own.
    max_running: usize,
}

impl ChangeGroups {
    /// The queue of a thread that has `connections` connections of its own.
    pub(crate) fn new(connections: usize) -> Self {
        Self {
            queue: Arc::default(),
            max_running: connections.clamp(1, MAX_RUNNING),
        }
    }

    /// Whether `change` may join a group: only changes by accounts do (the grouped statement
    /// re-checks an account's authority, nothing else).
    pub(crate) fn accepts(change: &StatusChange) -> bool {
        matches!(change.actor.authority(), Authority::Account { .. })
    }

    /// Applies `change` in a group with whatever changes of this thread are waiting. `store`
    /// must be the store whose thread pool this queue belongs to.
    pub(crate) async fn apply(&self, store: &PgStore, change: StatusChange) -> Answer {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut queue = self.lock();
            queue.waiting.push_back(Pending { change, reply });
            let start = queue.running < self.max_running
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

    /// Applies groups until the queue is empty. Each group runs as a task of its own, so one
    /// that panics fails its own changes (their callers are answered with an error) and the
    /// changes queued behind it are still applied.
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
            let answered = store.spawn(answer_group(store.clone(), group)).await;
            if let Err(error) = answered {
                tracing::error!(%error, "a group of status changes failed; the queue goes on");
            }
        }
    }
}

/// Counts a task out of [`Queue::running`] should it end without emptying the queue (its
/// runtime shutting down): the next change then starts a task of its own.
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

/// Applies `group` and answers each of its changes.
async fn answer_group(store: PgStore, group: Vec<Pending>) {
    let (changes, replies): (Vec<StatusChange>, Vec<_>) = group
        .into_iter()
        .map(|pending| (pending.change, pending.reply))
        .unzip();
    for (answer, reply) in group_answers(&store, changes)
        .await
        .into_iter()
        .zip(replies)
    {
        // The caller may have gone (its client hung up): the change stands anyway.
        let _ = reply.send(answer);
    }
}

/// Each change's answer, in order.
async fn group_answers(store: &PgStore, changes: Vec<StatusChange>) -> Vec<Answer> {
    let mut conn = match store.conn().await {
        Ok(conn) => conn,
        // Each change fails as the checkout did (same kind, same cause).
        Err(err) => return each_fails(&changes, err),
    };
    let sent = Instant::now();
    match apply_group(&mut conn, &changes).await {
        Ok(mut rows) => changes
            .into_iter()
            .zip(1_i64..)
            .map(|(change, n)| {
                let row = rows.iter().position(|row| row.n == n);
                let row = row.map(|at| Box::new(rows.swap_remove(at).row));
                Ok((change, GroupAnswer::Found(row)))
            })
            .collect(),
        Err(error) if !fate_unknown(&error) => {
            FAILED.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                %error,
                changes = changes.len(),
                "a group of status changes failed; each is applied alone"
            );
            changes
                .into_iter()
                .map(|change| Ok((change, GroupAnswer::Alone)))
                .collect()
        }
        // The answer never came: the group may have committed. Each change's caller finds out
        // (`status_change::settle`).
        Err(error) => {
            FAILED.fetch_add(1, Ordering::Relaxed);
            let cause = error.to_string();
            changes
                .into_iter()
                .map(|change| Ok((change, GroupAnswer::Unknown(cause.clone(), sent))))
                .collect()
        }
    }
}

/// Every change of a group fails as `err` (same kind, same cause).
fn each_fails(changes: &[StatusChange], err: StoreError) -> Vec<Answer> {
    let unavailable = matches!(err, StoreError::Unavailable(_));
    let cause = format!("{:#}", anyhow::Error::new(err));
    let failed = |cause: String| {
        if unavailable {
            StoreError::unavailable(cause)
        } else {
            StoreError::other(cause)
        }
    };
    changes.iter().map(|_| Err(failed(cause.clone()))).collect()
}

/// The group's statement for `changes` (the admin authority: only admins' changes are grouped).
async fn apply_group(
    conn: &mut AsyncPgConnection,
    changes: &[StatusChange],
) -> QueryResult<Vec<GroupRow>> {
    let columns = Columns::of(changes);
    Prepared(bind_all(statements(Holder::Account).group, &columns))
        .load::<GroupRow>(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;
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
            target_roles: warden_domain::RoleSet::ALL,
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
