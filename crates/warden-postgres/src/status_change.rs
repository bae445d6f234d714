//! [`UserRepo::change_status`](warden_domain::ports::UserRepo::change_status) on PostgreSQL.
//!
//! The common case is ONE statement: a conditional `UPDATE` whose data-modifying CTEs also
//! write the audit event and the outbox entry (atomic: one statement is one transaction). The
//! same statement reports the target's state when it changed nothing, so finding out why costs
//! nothing more. Deactivating an active admin is the exception: it must not race another such
//! deactivation (the last-active-admin rule), so it runs in a short transaction serialised by an
//! advisory lock, and its guard is evaluated in a snapshot taken after the lock.

use anyhow::anyhow;
use diesel::result::QueryResult;
use diesel::sql_types::{Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::OptionalExtension;
use diesel_async::pooled_connection::deadpool::Object;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use warden_domain::ports::StoreError;
use warden_domain::{Reason, StatusAction, StatusChange, StatusChangeOutcome, User};

use crate::errors::{corrupt, from_diesel};
use crate::prepared::Prepared;
use crate::rows::StatusRow;
use crate::PgStore;

macro_rules! user_columns {
    () => {
        "id, email, first_name, last_name, role, is_active, deactivated_at, deactivated_by, \
         deactivation_reason, token_version, created_at, updated_at"
    };
}

/// The actor's authority, re-checked inside the very statement that writes the change: the
/// acting admin is still active, still an admin, and still on the token version it acted with.
/// Read in the statement's snapshot, so a revocation committed before the statement began stops
/// it; one committed later is ordered after it (as if the request had come a moment earlier).
/// Admin deactivations run under [`ADMIN_LOCK`] with a snapshot taken after the lock, so two
/// admins deactivating each other cannot both pass it.
macro_rules! actor_guard {
    () => {
        "EXISTS (SELECT 1 FROM users AS actor\n\
                  WHERE actor.id = $3 AND actor.is_active AND actor.role = 'admin'\n\
                    AND actor.token_version = $7)"
    };
}

/// One status change in one statement. Binds: $1 target, $2 at, $3 actor id, $4 reason,
/// $5 audit event id, $6 notification id, $7 actor token version, $8 actor kind, $9 actor name.
/// Returns the target (`applied` says whether this statement changed it, `actor_ok` whether the
/// actor's authority held; the second branch reads the statement's snapshot); no row: no target.
macro_rules! change_sql {
    (set: $set:literal, when: $when:literal, action: $action:literal) => {
        concat!(
            "WITH target AS (\n",
            "    UPDATE users SET ",
            $set,
            ",\n",
            "           updated_at = $2, token_version = token_version + 1\n",
            "     WHERE id = $1 AND ",
            $when,
            "\n",
            "       AND ",
            actor_guard!(),
            "\n",
            " RETURNING ",
            user_columns!(),
            "\n",
            "), event AS (\n",
            "    INSERT INTO audit_events (id, user_id, actor_id, action, reason, created_at,\n",
            "                              actor_kind, actor_name)\n",
            "    SELECT $5, id, $3, '",
            $action,
            "', $4, $2, $8, $9 FROM target\n",
            "), notification AS (\n",
            "    INSERT INTO outbox (id, action, recipient, recipient_name, reason, occurred_at,\n",
            "                        next_attempt_at)\n",
            "    SELECT $6, '",
            $action,
            "', email,\n",
            "           CASE WHEN first_name ~ '^[[:space:]]*$' THEN email ELSE first_name END,\n",
            "           $4, $2, $2\n",
            "      FROM target\n",
            ")\n",
            "SELECT TRUE AS applied, TRUE AS actor_ok, ",
            user_columns!(),
            " FROM target\n",
            "UNION ALL\n",
            "SELECT FALSE, ",
            actor_guard!(),
            ", ",
            user_columns!(),
            " FROM users\n",
            " WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM target)"
        )
    };
}

const DEACTIVATE: &str = change_sql!(
    set: "is_active = FALSE, deactivated_at = $2, deactivated_by = $3, deactivation_reason = $4",
    when: "is_active AND role <> 'admin'",
    action: "deactivated"
);

/// Run only while holding [`ADMIN_LOCK`], in the same transaction.
const DEACTIVATE_ADMIN: &str = change_sql!(
    set: "is_active = FALSE, deactivated_at = $2, deactivated_by = $3, deactivation_reason = $4",
    when: "is_active AND role = 'admin' AND EXISTS (\n\
           SELECT 1 FROM users AS other\n\
            WHERE other.role = 'admin' AND other.is_active AND other.id <> $1)",
    action: "deactivated"
);

const REACTIVATE: &str = change_sql!(
    set: "is_active = TRUE, deactivated_at = NULL, deactivated_by = NULL, \
          deactivation_reason = NULL",
    when: "NOT is_active",
    action: "reactivated"
);

/// Serialises admin deactivations against one schema; released at commit or rollback. Its
/// transaction also bounds, at no extra round trip, how long it waits for the lock and how long
/// the server keeps it open should this process stall or vanish half-way.
const ADMIN_LOCK: &str = "\
SELECT set_config('lock_timeout', '5s', true),
       set_config('idle_in_transaction_session_timeout', '10s', true),
       pg_advisory_xact_lock(1466786373, hashtext(coalesce(current_schema(), '')))";

/// A statement that changed nothing although its target was in the starting state lost a race
/// (the row changed between its snapshot and its update); it is run again, at most this often.
const MAX_ATTEMPTS: usize = 3;

pub(crate) async fn change_status(
    store: &PgStore,
    change: StatusChange,
) -> Result<StatusChangeOutcome, StoreError> {
    let conn = store.conn().await?;
    // Runs to completion even if the caller gives up (a client hanging up drops the request's
    // future): a transaction abandoned half-way would go back to the pool still open, holding
    // the admin lock until that connection is next checked out.
    store
        .runtime
        .spawn(async move { decide(conn, change).await })
        .await
        .map_err(|err| StoreError::Other(anyhow::Error::new(err).context("status change task")))?
}

async fn decide(
    mut conn: Object<AsyncPgConnection>,
    change: StatusChange,
) -> Result<StatusChangeOutcome, StoreError> {
    for _ in 0..MAX_ATTEMPTS {
        let sql = match change.action {
            StatusAction::Deactivate => DEACTIVATE,
            StatusAction::Reactivate => REACTIVATE,
        };
        let row = apply(&mut conn, sql, &change).await.map_err(from_diesel)?;
        let verdict = match judge(change.action, row, false)? {
            Verdict::NeedsGuard => {
                let row = deactivate_admin(&mut conn, &change)
                    .await
                    .map_err(from_diesel)?;
                judge(change.action, row, true)?
            }
            verdict => verdict,
        };
        match verdict {
            Verdict::Done(outcome) => return Ok(outcome),
            Verdict::Retry | Verdict::NeedsGuard => {}
        }
    }
    Err(StoreError::Other(anyhow!(
        "user {} kept changing concurrently; gave up after {MAX_ATTEMPTS} attempts",
        change.target
    )))
}

async fn apply(
    conn: &mut AsyncPgConnection,
    sql: &'static str,
    change: &StatusChange,
) -> QueryResult<Option<StatusRow>> {
    Prepared(
        diesel::sql_query(sql)
            .bind::<SqlUuid, _>(*change.target.as_uuid())
            .bind::<Timestamptz, _>(change.at)
            .bind::<SqlUuid, _>(*change.actor.id.as_uuid())
            .bind::<Nullable<Text>, _>(change.reason.as_ref().map(Reason::as_str))
            .bind::<SqlUuid, _>(change.event_id)
            .bind::<SqlUuid, _>(change.notification_id)
            .bind::<Integer, _>(change.actor.token_version)
            .bind::<Text, _>(change.actor.kind.as_str())
            .bind::<Text, _>(change.actor.name.as_str()),
    )
    .get_result::<StatusRow>(conn)
    .await
    .optional()
}

/// BEGIN; take the lock; the guarded change (a new statement, hence a snapshot that sees every
/// admin deactivation committed before we got the lock); COMMIT.
async fn deactivate_admin(
    conn: &mut AsyncPgConnection,
    change: &StatusChange,
) -> QueryResult<Option<StatusRow>> {
    conn.transaction(async |conn| {
        Prepared(diesel::sql_query(ADMIN_LOCK))
            .execute(conn)
            .await?;
        apply(conn, DEACTIVATE_ADMIN, change).await
    })
    .await
}

#[derive(Debug)]
enum Verdict {
    Done(StatusChangeOutcome),
    /// An active admin: only the guarded statement may deactivate it.
    NeedsGuard,
    /// Lost a race with a concurrent change of the same row: ask again.
    Retry,
}

/// What a status statement's result means. `guarded`: it was [`DEACTIVATE_ADMIN`].
fn judge(
    action: StatusAction,
    row: Option<StatusRow>,
    guarded: bool,
) -> Result<Verdict, StoreError> {
    let Some(row) = row else {
        return Ok(Verdict::Done(StatusChangeOutcome::NotFound));
    };
    if row.applied {
        let user = User::try_from(row.user).map_err(corrupt)?;
        return Ok(Verdict::Done(StatusChangeOutcome::Applied(Box::new(user))));
    }
    if !row.actor_ok {
        return Ok(Verdict::Done(StatusChangeOutcome::ActorRevoked));
    }
    if row.user.is_active() == (action == StatusAction::Reactivate) {
        return Ok(Verdict::Done(StatusChangeOutcome::AlreadyInState));
    }
    if action == StatusAction::Deactivate && row.user.is_admin() {
        // Under the lock nobody else deactivates admins, so only the guard can have failed.
        return Ok(if guarded {
            Verdict::Done(StatusChangeOutcome::LastActiveAdmin)
        } else {
            Verdict::NeedsGuard
        });
    }
    Ok(Verdict::Retry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::UserRow;

    fn row(applied: bool, active: bool, role: &str) -> Option<StatusRow> {
        Some(StatusRow {
            applied,
            actor_ok: true,
            user: UserRow::sample(active, role),
        })
    }

    fn outcome(verdict: Result<Verdict, StoreError>) -> String {
        format!("{:?}", verdict.unwrap())
    }

    #[test]
    fn reads_the_outcome_off_the_returned_row() {
        use StatusAction::*;
        assert!(outcome(judge(Deactivate, None, false)).contains("NotFound"));
        assert!(outcome(judge(Deactivate, row(true, false, "user"), false)).contains("Applied"));
        assert!(
            outcome(judge(Deactivate, row(false, false, "user"), false)).contains("AlreadyInState")
        );
        assert!(
            outcome(judge(Reactivate, row(false, true, "admin"), false)).contains("AlreadyInState")
        );
        assert_eq!(
            outcome(judge(Deactivate, row(false, true, "admin"), false)),
            "NeedsGuard"
        );
        assert!(
            outcome(judge(Deactivate, row(false, true, "admin"), true)).contains("LastActiveAdmin")
        );
        // Eligible in the snapshot yet unchanged: a concurrent change won the row.
        assert_eq!(
            outcome(judge(Deactivate, row(false, true, "user"), false)),
            "Retry"
        );
        assert_eq!(
            outcome(judge(Reactivate, row(false, false, "user"), false)),
            "Retry"
        );
        // An actor who lost its authority stops the change, whatever the target's state.
        for (action, active, role) in [(Deactivate, true, "user"), (Reactivate, true, "admin")] {
            let mut revoked = row(false, active, role);
            revoked.as_mut().unwrap().actor_ok = false;
            assert!(outcome(judge(action, revoked, false)).contains("ActorRevoked"));
        }
    }

    #[test]
    fn statements_bind_every_parameter() {
        for sql in [DEACTIVATE, DEACTIVATE_ADMIN, REACTIVATE] {
            for n in 1..=9 {
                assert!(sql.contains(&format!("${n}")), "${n} unused in {sql}");
            }
            assert!(!sql.contains("$10"));
        }
    }
}
