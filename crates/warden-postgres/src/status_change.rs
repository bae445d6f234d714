//! [`UserRepo::change_status`](warden_domain::ports::UserRepo::change_status) on PostgreSQL.
//!
//! The common case is ONE statement (`status_sql`): a conditional `UPDATE` whose
//! data-modifying CTEs also write the audit event, the outbox entry and the webhook deliveries
//! (atomic: one statement is one transaction). The same statement reports the target's state
//! when it changed nothing, so finding out why costs nothing more. On an HTTP worker thread an
//! admin's change first goes through that thread's groups (`change_group`): the same statement
//! over arrays, for every change waiting at that moment; a change the group could not decide
//! (its row was locked elsewhere, or the group statement failed) is applied here alone.
//! Deactivating an active admin is the exception: it must not race another such deactivation
//! (the last-active-admin rule), so it runs in a short transaction serialised by an advisory
//! lock, and its guard is evaluated in a snapshot taken after the lock.

use std::time::Instant;

use anyhow::anyhow;
use diesel::result::{DatabaseErrorKind, Error as DieselError, QueryResult};
use diesel::sql_types::{Bool, Uuid as SqlUuid};
use diesel::{OptionalExtension, QueryableByName};
use diesel_async::pooled_connection::deadpool::Object;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use warden_domain::ports::{StoreError, UserRepo};
use warden_domain::{NextStep, StatusChange, StatusChangeOutcome, Unapplied, User};

use crate::change_group::{ChangeGroups, GroupAnswer};
use crate::errors::{corrupt, from_diesel};
use crate::prepared::Prepared;
use crate::rows::StatusRow;
use crate::status_sql::{bind_one, statements, Binds, Holder};
use crate::PgStore;

/// Serialises admin deactivations against one schema; released at commit or rollback. Its
/// transaction also bounds, at no extra round trip, how long it waits for the lock and how long
/// the server keeps it open should this process stall or vanish half-way.
pub(crate) const ADMIN_LOCK: &str = "\
SELECT set_config('lock_timeout', '5s', true),
       set_config('idle_in_transaction_session_timeout', '10s', true),
       pg_advisory_xact_lock(1466786373, hashtext(coalesce(current_schema(), '')))";

/// A statement that changed nothing although its target was in the starting state lost a race
/// it cannot lose twice in a row (each statement locks the target and reads it as locked): it
/// is run again, at most this often. A change its group skipped counts its try as the first.
const MAX_ATTEMPTS: usize = 3;

pub(crate) async fn change_status(
    store: &PgStore,
    change: StatusChange,
) -> Result<StatusChangeOutcome, StoreError> {
    let Some(holder) = Holder::of(change.actor.authority()) else {
        return Err(StoreError::other(format!(
            "no statement re-checks the authority of a {} actor",
            change.actor.kind().as_str()
        )));
    };
    // On an HTTP worker an admin's change is first tried in a group; what that try found is
    // then the first step, as if the single statement had run here.
    let (change, first) = match store.change_groups() {
        Some(groups) if ChangeGroups::accepts(&change) => {
            let (change, answer) = groups.apply(store, change).await?;
            match answer {
                GroupAnswer::Found(row) => match outcome(&change, row.map(|row| *row), false)? {
                    Step::Applied(user) => return Ok(StatusChangeOutcome::Applied(user)),
                    Step::Next(NextStep::Done(outcome)) => return Ok(outcome),
                    step => (change, Some(step)),
                },
                // The group's statement failed as a whole (not for this change's sake) and
                // surely wrote nothing: this change is applied alone, on a healthy connection.
                GroupAnswer::Alone => (change, None),
                GroupAnswer::Unknown(cause, sent) => {
                    return settle(store, &change, cause, sent).await;
                }
            }
        }
        _ => (change, None),
    };
    let conn = store.conn().await?;
    let settling = store.clone();
    // Runs to completion even if the caller gives up (a client hanging up drops the request's
    // future): a transaction abandoned half-way would go back to the pool still open, holding
    // the admin lock until that connection is next checked out.
    store
        .spawn(async move { decide(&settling, conn, holder, change, first).await })
        .await
        .map_err(|err| StoreError::other(anyhow::Error::new(err).context("status change task")))?
}

/// Applies `change`, starting from `first` (what its group's try already found) when given.
async fn decide(
    store: &PgStore,
    mut conn: Object<AsyncPgConnection>,
    holder: Holder,
    change: StatusChange,
    mut first: Option<Step>,
) -> Result<StatusChangeOutcome, StoreError> {
    let statements = statements(holder);
    let binds = Binds::of(&change);
    for _ in 0..MAX_ATTEMPTS {
        let mut step = match first.take() {
            Some(step) => step,
            None => {
                let sent = Instant::now();
                match apply(&mut conn, statements.one, &binds).await {
                    Ok(row) => outcome(&change, row, false)?,
                    Err(error) if fate_unknown(&error) => {
                        return settle(store, &change, error.to_string(), sent).await;
                    }
                    Err(error) => return Err(from_diesel(error)),
                }
            }
        };
        if step == Step::Next(NextStep::ApplyWithLastAdminGuard) {
            let sent = Instant::now();
            match apply_guarded(&mut conn, statements.one_guarded, &binds).await {
                Ok(row) => step = outcome(&change, row, true)?,
                Err(error) if fate_unknown(&error) => {
                    return settle(store, &change, error.to_string(), sent).await;
                }
                Err(error) => return Err(from_diesel(error)),
            }
        }
        match step {
            Step::Applied(user) => return Ok(StatusChangeOutcome::Applied(user)),
            Step::Next(NextStep::Done(outcome)) => return Ok(outcome),
            Step::Next(_) => {}
        }
    }
    Err(StoreError::other(anyhow!(
        "user {} kept changing concurrently; gave up after {MAX_ATTEMPTS} attempts",
        change.target
    )))
}

/// Applies `change` on `conn`, inside a transaction its caller holds (a write that must commit
/// or roll back together with the change, such as a SCIM PATCH of profile and `active`): the
/// single statement, and the guarded one under the admin lock (a savepoint), without groups
/// and without a task of its own. The caller's transaction is what runs to completion.
pub(crate) async fn change_status_in(
    conn: &mut AsyncPgConnection,
    change: &StatusChange,
) -> QueryResult<StatusChangeOutcome> {
    let in_query = |err: StoreError| DieselError::QueryBuilderError(Box::new(err));
    let holder = Holder::of(change.actor.authority()).ok_or_else(|| {
        in_query(StoreError::other(format!(
            "no statement re-checks the authority of a {} actor",
            change.actor.kind().as_str()
        )))
    })?;
    let statements = statements(holder);
    let binds = Binds::of(change);
    for _ in 0..MAX_ATTEMPTS {
        let row = apply(conn, statements.one, &binds).await?;
        let mut step = outcome(change, row, false).map_err(in_query)?;
        if step == Step::Next(NextStep::ApplyWithLastAdminGuard) {
            let row = apply_guarded(conn, statements.one_guarded, &binds).await?;
            step = outcome(change, row, true).map_err(in_query)?;
        }
        match step {
            Step::Applied(user) => return Ok(StatusChangeOutcome::Applied(user)),
            Step::Next(NextStep::Done(outcome)) => return Ok(outcome),
            Step::Next(_) => {}
        }
    }
    Err(in_query(StoreError::other(anyhow!(
        "user {} kept changing concurrently; gave up after {MAX_ATTEMPTS} attempts",
        change.target
    ))))
}

/// Whether `error` leaves a sent statement's fate unknown: anything but an error the server
/// answered to the statement itself (which rolled it back). The connection failing (or its
/// deadline closing it) before an answer came, or an answer that could not be read, may follow
/// a commit.
pub(crate) fn fate_unknown(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(kind, _) => matches!(
            kind,
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand
        ),
        _ => true,
    }
}

/// Finds out whether `change`, whose statement was sent at `sent` and never answered (`cause`),
/// committed: once the server has surely ended it (its statement timeout is shorter than the
/// round trip's deadline), it looks, on another connection, for the change's audit event, which
/// the same transaction writes. Found: applied (the caller gets the truth, not a failure). Not
/// found: unavailable, and surely not applied. When even that look fails, unavailable with the
/// fate unknown: the one case a 503 cannot promise "not applied" (docs/api.md), where a retry
/// is still safe (it applies once, or finds the account already in its state).
pub(crate) async fn settle(
    store: &PgStore,
    change: &StatusChange,
    cause: String,
    sent: Instant,
) -> Result<StatusChangeOutcome, StoreError> {
    tokio::time::sleep_until((sent + store.round_trip_timeout()).into()).await;
    let looked = async {
        let mut conn = store.conn().await?;
        let found = Prepared(diesel::sql_query(EVENT_EXISTS).bind::<SqlUuid, _>(change.event_id))
            .get_result::<Recorded>(&mut conn)
            .await
            .map_err(from_diesel)?;
        if !found.recorded {
            return Ok(None);
        }
        store.find_by_id(&change.target).await
    };
    match looked.await {
        Ok(Some(user)) => Ok(StatusChangeOutcome::Applied(Box::new(user))),
        Ok(None) => Err(StoreError::unavailable(anyhow!(
            "the status change was not applied: {cause}"
        ))),
        Err(look) => Err(StoreError::unavailable(anyhow!(
            "the status change's fate is unknown: {cause}; looking for it failed: {look}"
        ))),
    }
}

/// $1 an audit event's id: whether it was recorded.
const EVENT_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM audit_events WHERE id = $1) AS recorded";

#[derive(QueryableByName)]
struct Recorded {
    #[diesel(sql_type = Bool)]
    recorded: bool,
}

/// One change with the single statement `sql`.
async fn apply(
    conn: &mut AsyncPgConnection,
    sql: &'static str,
    binds: &Binds<'_>,
) -> QueryResult<Option<StatusRow>> {
    Prepared(bind_one(sql, binds))
        .get_result::<StatusRow>(conn)
        .await
        .optional()
}

/// BEGIN; take the lock; the guarded change (a new statement, hence a snapshot that sees every
/// guarded change committed before we got the lock); COMMIT.
async fn apply_guarded(
    conn: &mut AsyncPgConnection,
    sql: &'static str,
    binds: &Binds<'_>,
) -> QueryResult<Option<StatusRow>> {
    conn.transaction(async |conn| {
        Prepared(diesel::sql_query(ADMIN_LOCK))
            .execute(conn)
            .await?;
        apply(conn, sql, binds).await
    })
    .await
}

#[derive(Debug, PartialEq)]
enum Step {
    Applied(Box<User>),
    /// The statement changed nothing; the domain's judgement of what it found.
    Next(NextStep),
}

/// What a status statement's result means: applied, or what the domain makes of what it found.
/// `guarded`: it was a statement with the last-active-admin guard.
fn outcome(
    change: &StatusChange,
    row: Option<StatusRow>,
    guarded: bool,
) -> Result<Step, StoreError> {
    let Some(row) = row else {
        return Ok(Step::Next(change.judge(Unapplied {
            target: None,
            actor_holds: false,
            last_admin_guarded: guarded,
            expectation_held: false,
        })));
    };
    if row.applied {
        let user = User::try_from(row.user).map_err(corrupt)?;
        return Ok(Step::Applied(Box::new(user)));
    }
    if row.skipped {
        // Its row was locked elsewhere (a group skips such rows): nothing was decided, so the
        // change is written again, alone, waiting for the lock like any single statement.
        return Ok(Step::Next(NextStep::Retry));
    }
    let target = row.user.found().map_err(corrupt)?;
    Ok(Step::Next(change.judge(Unapplied {
        target: Some(target),
        actor_holds: row.actor_ok,
        last_admin_guarded: guarded,
        expectation_held: change.expectation_holds(row.user.deactivated_until()),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::UserRow;
    use warden_domain::StatusAction;

    fn row(applied: bool, active: bool, role: &str) -> Option<StatusRow> {
        Some(StatusRow {
            applied,
            actor_ok: true,
            skipped: false,
            user: UserRow::sample(active, role),
        })
    }

    /// The judgement itself is the domain's (`StatusAction::judge`, tested there); this checks
    /// the adapter reads the row into it faithfully.
    #[test]
    fn reads_what_the_statement_found_into_the_domain_judgement() {
        use StatusAction::*;
        let change = |action| StatusChange {
            action,
            target: warden_domain::UserId::generate(),
            actor: warden_domain::Actor::system(),
            reason: None,
            at: chrono::Utc::now(),
            event_id: uuid::Uuid::now_v7(),
            notification_id: uuid::Uuid::now_v7(),
            until: None,
            only_if_due_at: None,
            target_roles: warden_domain::RoleSet::ALL,
        };
        let outcome = |action, row, guarded| outcome(&change(action), row, guarded);
        let next = |action, row, guarded| match outcome(action, row, guarded).unwrap() {
            Step::Next(next) => next,
            Step::Applied(_) => panic!("applied"),
        };
        assert!(matches!(
            outcome(Deactivate, row(true, false, "user"), false).unwrap(),
            Step::Applied(_)
        ));
        assert_eq!(
            next(Deactivate, None, false),
            NextStep::Done(StatusChangeOutcome::NotFound)
        );
        assert_eq!(
            next(Deactivate, row(false, true, "admin"), false),
            NextStep::ApplyWithLastAdminGuard
        );
        assert_eq!(
            next(Deactivate, row(false, true, "admin"), true),
            NextStep::Done(StatusChangeOutcome::LastActiveAdmin)
        );
        assert_eq!(
            next(Reactivate, row(false, true, "user"), false),
            NextStep::Done(StatusChangeOutcome::AlreadyInState)
        );
        let mut revoked = row(false, true, "user");
        revoked.as_mut().unwrap().actor_ok = false;
        assert_eq!(
            next(Deactivate, revoked, false),
            NextStep::Done(StatusChangeOutcome::ActorRevoked)
        );
        // A row a group skipped (locked elsewhere) decides nothing: written again alone.
        let mut skipped = row(false, true, "user");
        skipped.as_mut().unwrap().skipped = true;
        assert_eq!(next(Deactivate, skipped, false), NextStep::Retry);
        // A lift finds a deactivated target without a due end: not due (the sample has none).
        let mut lift = change(Reactivate);
        lift.only_if_due_at = Some(chrono::Utc::now());
        match super::outcome(&lift, row(false, false, "user"), false).unwrap() {
            Step::Next(next) => assert_eq!(next, NextStep::Done(StatusChangeOutcome::NotDue)),
            Step::Applied(_) => panic!("applied"),
        }
    }
}
