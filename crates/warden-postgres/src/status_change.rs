//! [`UserRepo::change_status`](warden_domain::ports::UserRepo::change_status) on PostgreSQL.
//!
//! The common case is ONE statement: a conditional `UPDATE` whose data-modifying CTEs also
//! write the audit event, the outbox entry and the webhook deliveries (atomic: one statement
//! is one transaction). The same statement reports the target's state when it changed
//! nothing, so finding out why costs nothing more. On an HTTP worker thread an admin's change
//! first goes through that thread's groups (`change_group`): the same statement over arrays,
//! for every change waiting at that moment. Deactivating an active admin is the exception: it
//! must not race another such deactivation (the last-active-admin rule), so it runs in a short
//! transaction serialised by an advisory lock, and its guard is evaluated in a snapshot taken
//! after the lock.

use anyhow::anyhow;
use chrono::{DateTime, Utc};
use diesel::result::QueryResult;
use diesel::sql_types::{Bool, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::OptionalExtension;
use diesel_async::pooled_connection::deadpool::Object;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use warden_domain::ports::StoreError;
use warden_domain::{
    AccountStatus, Authority, NextStep, Reason, Role, StatusChange, StatusChangeOutcome, Unapplied,
    User, WebhookEventType,
};

use crate::change_group::ChangeGroups;
use crate::errors::{corrupt, from_diesel};
use crate::prepared::Prepared;
use crate::rows::StatusRow;
use crate::PgStore;
use uuid::Uuid;

macro_rules! user_columns {
    () => {
        "id, email, first_name, last_name, role, is_active, deactivated_at, deactivated_by, \
         deactivation_reason, token_version, created_at, updated_at, deactivated_until"
    };
}

/// The actor's authority, re-checked inside the very statement that writes the change (the
/// domain's [`Authority`]): an admin account still active, still of the role the domain requires
/// ($16) and still on the token version it acted with ($7); a client ($18) not revoked; the system
/// has nothing to re-check. Read in the statement's snapshot, so a revocation committed before
/// the statement began stops it; one committed later is ordered after it (as if the request had
/// come a moment earlier). Guarded changes run under [`ADMIN_LOCK`] with a snapshot taken after
/// the lock, so two admins deactivating each other cannot both pass it.
macro_rules! admin_holds {
    () => {
        "EXISTS (SELECT 1 FROM users AS actor\n\
                  WHERE actor.id = $3 AND actor.is_active AND actor.role = $16\n\
                    AND actor.token_version = $7)"
    };
}

macro_rules! client_holds {
    () => {
        "EXISTS (SELECT 1 FROM clients AS actor WHERE actor.id = $18 AND actor.revoked_at IS NULL)"
    };
}

macro_rules! system_holds {
    () => {
        "TRUE"
    };
}

/// One status change in one statement, carrying only the guards the domain declares; every
/// value and name is a bind. Binds: $1 target, $2 at, $3 the acting account (NULL unless the
/// actor acts through one), $4 reason, $5 audit event id, $6 notification id, $7 the acting
/// account's token version, $8 actor kind, $9 actor name; the new status: $10 is_active,
/// $11 deactivated_at, $12 deactivated_by, $13 deactivation_reason; the guards: $14 the
/// is_active the target must have, $15 the role that needs the last-active-admin guard (NULL:
/// none), $16 the role an acting account must hold; $17 the action's name; $18 the acting
/// client (NULL unless a client acts); $19 the suspension's end (deactivated_until, NULL unless
/// a timed deactivation); $20 the change's expectation (`StatusChange::only_if_due_at`: apply
/// only to a target whose deactivated_until is at or before it; NULL: none), whose result the
/// adapter reads back from the returned row with `StatusChange::expectation_holds`; $21 the
/// webhook event type. The outbox keeps the target's first name: the domain turns it into the
/// greeting name when it is delivered. One webhook delivery is written per enabled endpoint
/// subscribed to $21, referencing the audit event ($5) and keeping the target's email of this
/// moment.
/// Returns the target (`applied` says whether this statement changed it, `actor_ok` whether the
/// actor's authority held; the second branch reads the statement's snapshot); no row: no target.
macro_rules! change_sql {
    (when: $when:ident, actor: $holds:ident) => {
        concat!(
            "WITH target AS (\n",
            "    UPDATE users SET is_active = $10, deactivated_at = $11, deactivated_by = $12,\n",
            "           deactivation_reason = $13, deactivated_until = $19, updated_at = $2,\n",
            "           token_version = token_version + 1\n",
            "     WHERE id = $1 AND is_active = $14\n",
            "       AND ($20::timestamptz IS NULL OR deactivated_until <= $20) AND ",
            $when!(),
            "\n",
            "       AND ",
            $holds!(),
            "\n",
            " RETURNING ",
            user_columns!(),
            "\n",
            "), event AS (\n",
            "    INSERT INTO audit_events (id, user_id, actor_id, action, reason, created_at,\n",
            "                              actor_kind, actor_name, actor_client_id)\n",
            "    SELECT $5, id, $3, $17, $4, $2, $8, $9, $18 FROM target\n",
            "), notification AS (\n",
            "    INSERT INTO outbox (id, action, recipient, recipient_first_name, reason, occurred_at,\n",
            "                        next_attempt_at, suspended_until)\n",
            "    SELECT $6, $17, email, first_name, $4, $2, $2, $19 FROM target\n",
            "), webhook AS (\n",
            "    INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, email,\n",
            "                                    next_attempt_at)\n",
            "    SELECT gen_random_uuid(), hook.id, $5, $21, target.email, $2\n",
            "      FROM target, webhook_endpoints AS hook\n",
            "     WHERE hook.enabled AND (hook.events IS NULL OR $21 = ANY (hook.events))\n",
            ")\n",
            "SELECT TRUE AS applied, TRUE AS actor_ok, ",
            user_columns!(),
            " FROM target\n",
            "UNION ALL\n",
            "SELECT FALSE, ",
            $holds!(),
            ", ",
            user_columns!(),
            " FROM users\n",
            " WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM target)"
        )
    };
}

/// The target condition of a change that needs no last-active-admin guard (the common case).
macro_rules! unguarded {
    () => {
        "role IS DISTINCT FROM $15"
    };
}

/// The target condition of a change the domain guards against removing the last active member
/// of role $15. Run only while holding [`ADMIN_LOCK`], in the same transaction.
macro_rules! guarded {
    () => {
        "role = $15 AND EXISTS (\n\
         SELECT 1 FROM users AS other\n\
          WHERE other.role = $15 AND other.is_active AND other.id <> $1)"
    };
}

/// The two statements of a change (without, then with the last-active-admin guard) for each
/// kind of authority the domain declares.
pub(crate) struct Statements {
    pub(crate) unguarded: &'static str,
    guarded: &'static str,
}

pub(crate) const BY_ADMIN: Statements = Statements {
    unguarded: change_sql!(when: unguarded, actor: admin_holds),
    guarded: change_sql!(when: guarded, actor: admin_holds),
};
const BY_CLIENT: Statements = Statements {
    unguarded: change_sql!(when: unguarded, actor: client_holds),
    guarded: change_sql!(when: guarded, actor: client_holds),
};
const BY_SYSTEM: Statements = Statements {
    unguarded: change_sql!(when: unguarded, actor: system_holds),
    guarded: change_sql!(when: guarded, actor: system_holds),
};

/// The statements that re-check `authority`; `None` for an authority this adapter does not know.
fn statements_for(authority: &Authority) -> Option<&'static Statements> {
    match authority {
        Authority::Admin { .. } => Some(&BY_ADMIN),
        Authority::Client { .. } => Some(&BY_CLIENT),
        Authority::System => Some(&BY_SYSTEM),
        _ => None,
    }
}

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
    // On an HTTP worker an admin's change is first tried in a group; what that try found is
    // then the first step, as if the unguarded statement had run here.
    let (change, first) = match store.change_groups() {
        Some(groups) if ChangeGroups::accepts(&change) => {
            let (change, row) = groups.apply(store, change).await?;
            match outcome(&change, row, false)? {
                Step::Applied(user) => return Ok(StatusChangeOutcome::Applied(user)),
                Step::Next(NextStep::Done(outcome)) => return Ok(outcome),
                step => (change, Some(step)),
            }
        }
        _ => (change, None),
    };
    let conn = store.conn().await?;
    // Runs to completion even if the caller gives up (a client hanging up drops the request's
    // future): a transaction abandoned half-way would go back to the pool still open, holding
    // the admin lock until that connection is next checked out.
    store
        .spawn(async move { decide(conn, change, first).await })
        .await
        .map_err(|err| StoreError::other(anyhow::Error::new(err).context("status change task")))?
}

/// Applies `change`, starting from `first` (what an unguarded try already found) when given.
async fn decide(
    mut conn: Object<AsyncPgConnection>,
    change: StatusChange,
    mut first: Option<Step>,
) -> Result<StatusChangeOutcome, StoreError> {
    let Some(statements) = statements_for(change.actor.authority()) else {
        return Err(StoreError::other(format!(
            "no statement re-checks the authority of a {} actor",
            change.actor.kind().as_str()
        )));
    };
    let binds = Binds::of(&change);
    for _ in 0..MAX_ATTEMPTS {
        let mut step = match first.take() {
            Some(step) => step,
            None => {
                let row = apply(&mut conn, statements.unguarded, &binds)
                    .await
                    .map_err(from_diesel)?;
                outcome(&change, row, false)?
            }
        };
        if step == Step::Next(NextStep::ApplyWithLastAdminGuard) {
            let row = apply_guarded(&mut conn, statements.guarded, &binds)
                .await
                .map_err(from_diesel)?;
            step = outcome(&change, row, true)?;
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

/// A change's binds, in the statements' order (see [`change_sql`], $1 to $21): the domain's
/// decision as values. The grouped statement (`change_group`) binds the same values as arrays.
pub(crate) struct Binds<'a> {
    pub(crate) target: Uuid,
    pub(crate) at: DateTime<Utc>,
    pub(crate) actor_account: Option<Uuid>,
    pub(crate) reason: Option<&'a str>,
    pub(crate) event_id: Uuid,
    pub(crate) notification_id: Uuid,
    pub(crate) token_version: Option<i32>,
    pub(crate) actor_kind: &'static str,
    pub(crate) actor_name: &'a str,
    pub(crate) is_active: bool,
    pub(crate) deactivated_at: Option<DateTime<Utc>>,
    pub(crate) deactivated_by: Option<Uuid>,
    pub(crate) deactivation_reason: Option<String>,
    pub(crate) requires_active: bool,
    pub(crate) guarded_role: Option<&'static str>,
    pub(crate) actor_role: &'static str,
    pub(crate) action: &'static str,
    pub(crate) client: Option<Uuid>,
    pub(crate) until: Option<DateTime<Utc>>,
    pub(crate) only_if_due_at: Option<DateTime<Utc>>,
    pub(crate) event_type: &'static str,
}

impl<'a> Binds<'a> {
    pub(crate) fn of(change: &'a StatusChange) -> Self {
        let (is_active, deactivation) = match change.new_status() {
            AccountStatus::Active => (true, None),
            AccountStatus::Deactivated(deactivation) => (false, Some(deactivation)),
        };
        let (token_version, client) = match change.actor.authority() {
            Authority::Admin { token_version, .. } => (Some(*token_version), None),
            Authority::Client { client } => (None, Some(*client)),
            _ => (None, None),
        };
        let reason = change.reason.as_ref().map(Reason::as_str);
        Self {
            target: *change.target.as_uuid(),
            at: change.at,
            actor_account: change.actor.account().map(|id| *id.as_uuid()),
            reason,
            event_id: change.event_id,
            notification_id: change.notification_id,
            token_version,
            actor_kind: change.actor.kind().as_str(),
            actor_name: change.actor.name(),
            is_active,
            deactivated_at: deactivation.as_ref().map(|d| d.at),
            deactivated_by: deactivation
                .as_ref()
                .and_then(|d| d.by)
                .map(|by| *by.as_uuid()),
            deactivation_reason: deactivation
                .as_ref()
                .and_then(|d| d.reason.as_ref())
                .map(|r| r.as_str().to_owned()),
            requires_active: change.action.requires_active(),
            guarded_role: change.action.guarded_role().map(Role::as_str),
            actor_role: StatusChange::ACTOR_ROLE.as_str(),
            action: change.action.as_str(),
            client,
            until: deactivation.as_ref().and_then(|d| d.until),
            only_if_due_at: change.only_if_due_at,
            event_type: WebhookEventType::of(change.action).as_str(),
        }
    }
}

pub(crate) async fn apply(
    conn: &mut AsyncPgConnection,
    sql: &'static str,
    binds: &Binds<'_>,
) -> QueryResult<Option<StatusRow>> {
    Prepared(
        diesel::sql_query(sql)
            .bind::<SqlUuid, _>(binds.target)
            .bind::<Timestamptz, _>(binds.at)
            .bind::<Nullable<SqlUuid>, _>(binds.actor_account)
            .bind::<Nullable<Text>, _>(binds.reason)
            .bind::<SqlUuid, _>(binds.event_id)
            .bind::<SqlUuid, _>(binds.notification_id)
            .bind::<Nullable<Integer>, _>(binds.token_version)
            .bind::<Text, _>(binds.actor_kind)
            .bind::<Text, _>(binds.actor_name)
            .bind::<Bool, _>(binds.is_active)
            .bind::<Nullable<Timestamptz>, _>(binds.deactivated_at)
            .bind::<Nullable<SqlUuid>, _>(binds.deactivated_by)
            .bind::<Nullable<Text>, _>(binds.deactivation_reason.as_deref())
            .bind::<Bool, _>(binds.requires_active)
            .bind::<Nullable<Text>, _>(binds.guarded_role)
            .bind::<Text, _>(binds.actor_role)
            .bind::<Text, _>(binds.action)
            .bind::<Nullable<SqlUuid>, _>(binds.client)
            .bind::<Nullable<Timestamptz>, _>(binds.until)
            .bind::<Nullable<Timestamptz>, _>(binds.only_if_due_at)
            .bind::<Text, _>(binds.event_type),
    )
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
    let action = change.action;
    let Some(row) = row else {
        return Ok(Step::Next(action.judge(Unapplied {
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
    let target = row.user.found().map_err(corrupt)?;
    Ok(Step::Next(action.judge(Unapplied {
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
        // A lift finds a deactivated target without a due end: not due (the sample has none).
        let mut lift = change(Reactivate);
        lift.only_if_due_at = Some(chrono::Utc::now());
        match super::outcome(&lift, row(false, false, "user"), false).unwrap() {
            Step::Next(next) => assert_eq!(next, NextStep::Done(StatusChangeOutcome::NotDue)),
            Step::Applied(_) => panic!("applied"),
        }
    }

    #[test]
    fn statements_bind_every_parameter_and_restate_no_domain_string() {
        let all = [BY_ADMIN, BY_CLIENT, BY_SYSTEM];
        for sql in all.iter().flat_map(|s| [s.unguarded, s.guarded]) {
            // $7 and $16 concern only an acting account, $18 only a client.
            for n in (1..=21).filter(|n| ![7, 16].contains(n)) {
                assert!(sql.contains(&format!("${n}")), "${n} unused in {sql}");
            }
            assert!(!sql.contains("$22"));
            assert!(!sql.contains('\''), "a literal in {sql}");
        }
        for n in [7, 16] {
            assert!(BY_ADMIN.unguarded.contains(&format!("${n}")));
        }
        assert!(!BY_SYSTEM.unguarded.contains("actor.id"));
    }
}
