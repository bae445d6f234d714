//! The status-change statement, written once: the same text applies one change (its binds as
//! scalars) or a group of changes (its binds as arrays, one element per change), and the binds
//! themselves are listed once ([`Binds`], from which the array form [`Columns`], the input's
//! column names and both bind chains are generated).
//!
//! Every statement starts with an `input` relation (one row per change, numbered `n`) and then
//! does, for each change, what the domain decided: lock the target's row (`locked`, in one
//! order: by id), update it where the change's guards hold (`target`), and write the audit
//! event, the outbox entry and the webhook deliveries of each change that applied. A change that
//! did not apply gets the target as it is now (the locked row, read after any concurrent change
//! to it committed) and whether its actor's authority held, for the domain's judgement. Every
//! value and name is a bind; the SQL holds no domain string.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{Array, Bool, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;
use warden_domain::{
    AccountStatus, Authority, Reason, Role, SecurityEventType, StatusChange, StreamStatus,
    WebhookEventType,
};

/// Declares the binds of a status change once: `field: RustType => SqlType, "pg type"`, in bind
/// order ($1, $2, ...). Generates [`Binds`], [`Columns`], [`INPUT`] and the two bind chains.
macro_rules! status_binds {
    ($($(#[doc = $doc:literal])* $field:ident: $rust:ty => $sql:ty, $pg:literal;)*) => {
        /// A change's binds: the domain's decision as values. The statement's `input` relation
        /// has one column per field, of the same name.
        pub(crate) struct Binds<'a> {
            $($(#[doc = $doc])* pub(crate) $field: $rust,)*
        }

        /// The binds of a group: one array per field, one element per change.
        #[derive(Default)]
        pub(crate) struct Columns<'a> {
            $($field: Vec<$rust>,)*
        }

        impl<'a> Columns<'a> {
            pub(crate) fn push(&mut self, binds: Binds<'a>) {
                $(self.$field.push(binds.$field);)*
            }
        }

        /// Each bind's column name and PostgreSQL type, in bind order.
        pub(crate) const INPUT: &[(&str, &str)] = &[$((stringify!($field), $pg),)*];

        /// `sql` with one change's binds.
        pub(crate) fn bind_one<'q>(
            sql: &'static str,
            binds: &'q Binds<'_>,
        ) -> BoxedSqlQuery<'q, Pg, SqlQuery> {
            diesel::sql_query(sql)
                .into_boxed()
                $(.bind::<$sql, _>(&binds.$field))*
        }

        /// `sql` with a group's binds, as arrays.
        pub(crate) fn bind_all<'q>(
            sql: &'static str,
            columns: &'q Columns<'_>,
        ) -> BoxedSqlQuery<'q, Pg, SqlQuery> {
            diesel::sql_query(sql)
                .into_boxed()
                $(.bind::<Array<$sql>, _>(&columns.$field))*
        }
    };
}

status_binds! {
    /// The account to change.
    target_id: Uuid => SqlUuid, "uuid";
    /// When the change happens (the event's time, `updated_at`).
    at: DateTime<Utc> => Timestamptz, "timestamptz";
    /// The acting account; NULL unless the actor acts through one.
    actor_id: Option<Uuid> => Nullable<SqlUuid>, "uuid";
    /// The reason given, for the event and the email.
    reason: Option<&'a str> => Nullable<Text>, "text";
    event_id: Uuid => SqlUuid, "uuid";
    notification_id: Uuid => SqlUuid, "uuid";
    /// The acting account's token version (re-checked); NULL unless an admin acts.
    actor_version: Option<i32> => Nullable<Integer>, "int4";
    actor_kind: &'static str => Text, "text";
    actor_name: &'a str => Text, "text";
    /// The new status: is_active, deactivated_at, deactivated_by, deactivation_reason.
    new_active: bool => Bool, "bool";
    new_deactivated_at: Option<DateTime<Utc>> => Nullable<Timestamptz>, "timestamptz";
    new_deactivated_by: Option<Uuid> => Nullable<SqlUuid>, "uuid";
    new_reason: Option<String> => Nullable<Text>, "text";
    /// The is_active the target must have.
    requires_active: bool => Bool, "bool";
    /// The role whose last active member the guard keeps (NULL: none).
    guarded_role: Option<&'static str> => Nullable<Text>, "text";
    /// The role an acting account must still hold (and the event records); NULL unless an
    /// account acts.
    actor_role: Option<&'static str> => Nullable<Text>, "text";
    /// The roles of the targets the actor may change, as a PostgreSQL array's text
    /// (`{admin,user}`): `StatusChange::target_roles`.
    target_roles: String => Text, "text";
    /// The action's name (audit event, outbox).
    action: &'static str => Text, "text";
    /// The acting client (re-checked); NULL unless a client acts.
    client_id: Option<Uuid> => Nullable<SqlUuid>, "uuid";
    /// The suspension's end (deactivated_until); NULL unless a timed deactivation.
    new_until: Option<DateTime<Utc>> => Nullable<Timestamptz>, "timestamptz";
    /// `StatusChange::only_if_due_at`: apply only to a target whose deactivated_until is at or
    /// before it (NULL: no expectation).
    due_at: Option<DateTime<Utc>> => Nullable<Timestamptz>, "timestamptz";
    /// The webhook event type: one delivery per enabled endpoint subscribed to it.
    event_type: &'static str => Text, "text";
    /// The SETs' event types (SSF): the first, and the second (NULL: none) of
    /// `SecurityEventType::of`; the `ssf` CTE writes them for every stream not `ssf_dropped`.
    ssf_event: &'static str => Text, "text";
    ssf_also: Option<&'static str> => Nullable<Text>, "text";
    ssf_dropped: &'static str => Text, "text";
}

impl<'a> Binds<'a> {
    pub(crate) fn of(change: &'a StatusChange) -> Self {
        let (new_active, deactivation) = match change.new_status() {
            AccountStatus::Active => (true, None),
            AccountStatus::Deactivated(deactivation) => (false, Some(deactivation)),
        };
        let (actor_version, client_id) = match change.actor.authority() {
            Authority::Account { token_version, .. } => (Some(*token_version), None),
            Authority::Client { client } => (None, Some(*client)),
            _ => (None, None),
        };
        let ssf_types = SecurityEventType::of(change.action);
        Self {
            target_id: *change.target.as_uuid(),
            at: change.at,
            actor_id: change.actor.account().map(|id| *id.as_uuid()),
            reason: change.reason.as_ref().map(Reason::as_str),
            event_id: change.event_id,
            notification_id: change.notification_id,
            actor_version,
            actor_kind: change.actor.kind().as_str(),
            actor_name: change.actor.name(),
            new_active,
            new_deactivated_at: deactivation.as_ref().map(|d| d.at),
            new_deactivated_by: deactivation
                .as_ref()
                .and_then(|d| d.by)
                .map(|by| *by.as_uuid()),
            new_reason: deactivation
                .as_ref()
                .and_then(|d| d.reason.as_ref())
                .map(|r| r.as_str().to_owned()),
            requires_active: change.action.requires_active(),
            guarded_role: change.action.guarded_role().map(Role::as_str),
            actor_role: change.actor.role().map(Role::as_str),
            target_roles: format!(
                "{{{}}}",
                change
                    .target_roles
                    .roles()
                    .map(Role::as_str)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            action: change.action.as_str(),
            client_id,
            new_until: deactivation.as_ref().and_then(|d| d.until),
            due_at: change.only_if_due_at,
            event_type: WebhookEventType::of(change.action).as_str(),
            ssf_event: ssf_types.first().map_or("", |t| t.uri()),
            ssf_also: ssf_types.get(1).map(|t| t.uri()),
            ssf_dropped: StreamStatus::Disabled.as_str(),
        }
    }
}

impl<'a> Columns<'a> {
    pub(crate) fn of(changes: impl IntoIterator<Item = &'a StatusChange>) -> Self {
        let mut columns = Columns::default();
        for change in changes {
            columns.push(Binds::of(change));
        }
        columns
    }
}

/// How many changes a statement applies: how its `input` relation is made.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Shape {
    /// One change, its binds as scalars. Waits for a target row another transaction holds.
    One,
    /// Many changes, their binds as arrays (`Columns`). Skips a target row another transaction
    /// holds: that change comes back `skipped`, for its caller to apply alone (a locked row
    /// must not hold up the group's other changes).
    Group,
}

/// Which target condition a statement carries.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Guard {
    /// The common case: the target is not of the guarded role.
    None,
    /// The target is of the guarded role and another active member of it remains. Run only
    /// while holding the advisory lock of `status_change`, in the same transaction.
    LastOfRole,
}

/// Which authority the statement re-checks (the domain's [`Authority`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Holder {
    /// An account still active, of the role it acted with, on its token version.
    Account,
    /// A client not revoked.
    Client,
    /// The system: nothing to re-check.
    System,
}

impl Holder {
    /// The holder re-checking `authority`; `None` for one this adapter does not know.
    pub(crate) fn of(authority: &Authority) -> Option<Holder> {
        match authority {
            Authority::Account { .. } => Some(Holder::Account),
            Authority::Client { .. } => Some(Holder::Client),
            Authority::System => Some(Holder::System),
            _ => None,
        }
    }

    /// The actor's authority, re-checked in the statement's snapshot: a revocation committed
    /// before the statement began stops it; one committed later is ordered after it.
    fn condition(self) -> &'static str {
        match self {
            Holder::Account => {
                "EXISTS (SELECT 1 FROM users AS actor\n\
                          WHERE actor.id = input.actor_id AND actor.is_active\n\
                            AND actor.role = input.actor_role\n\
                            AND actor.token_version = input.actor_version)"
            }
            Holder::Client => {
                "EXISTS (SELECT 1 FROM clients AS actor\n\
                          WHERE actor.id = input.client_id AND actor.revoked_at IS NULL)"
            }
            Holder::System => "TRUE",
        }
    }
}

const USER_COLUMNS: &[&str] = &[
    "id",
    "email",
    "first_name",
    "last_name",
    "role",
    "is_active",
    "deactivated_at",
    "deactivated_by",
    "deactivation_reason",
    "token_version",
    "created_at",
    "updated_at",
    "deactivated_until",
];

fn columns_of(table: &str) -> String {
    USER_COLUMNS
        .iter()
        .map(|column| format!("{table}.{column}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `input` relation: one row per change, its columns named as [`Binds`]' fields, numbered
/// `n` from 1.
fn input(shape: Shape) -> String {
    match shape {
        Shape::One => {
            let columns: Vec<String> = INPUT
                .iter()
                .zip(1..)
                .map(|((name, pg), i)| format!("${i}::{pg} AS {name}"))
                .collect();
            format!("SELECT {}, 1::int8 AS n", columns.join(", "))
        }
        Shape::Group => {
            // Each array through a sub-select: the planner then does not see its length, so a
            // generic plan serves every group (with the arrays visible, it planned every
            // execution anew).
            let arrays: Vec<String> = INPUT
                .iter()
                .zip(1..)
                .map(|((_, pg), i)| format!("(SELECT ${i}::{pg}[])"))
                .collect();
            let names: Vec<&str> = INPUT.iter().map(|(name, _)| *name).collect();
            format!(
                "SELECT * FROM unnest({}) WITH ORDINALITY AS input({}, n)",
                arrays.join(", "),
                names.join(", ")
            )
        }
    }
}

/// The statement for `shape`, `guard` and `holder`. Returns, per change that has a target,
/// `n`, `applied`, `actor_ok` (the authority held), `skipped` (its row was locked elsewhere:
/// nothing was decided) and the target: as written when applied, as locked (current) when
/// not, as in the snapshot when skipped. No row: no such target.
pub(crate) fn statement(shape: Shape, guard: Guard, holder: Holder) -> String {
    let lock = match shape {
        Shape::One => "FOR NO KEY UPDATE OF users",
        Shape::Group => "FOR NO KEY UPDATE OF users SKIP LOCKED",
    };
    let when = match guard {
        Guard::None => "locked.role IS DISTINCT FROM input.guarded_role",
        Guard::LastOfRole => {
            "locked.role = input.guarded_role AND EXISTS (\n\
                 SELECT 1 FROM users AS other\n\
                  WHERE other.role = input.guarded_role AND other.is_active\n\
                    AND other.id <> input.target_id)"
        }
    };
    let holds = holder.condition();
    let users = columns_of("users");
    let locked = columns_of("locked");
    let target = columns_of("target");
    format!(
        "WITH input AS (
    {input}
), locked AS MATERIALIZED (
    -- One lock order for every statement (by id): two groups sharing targets cannot deadlock.
    -- A row locked, this is its newest version: the change is judged on it (not on the
    -- snapshot of the statement, which may predate a change committed while we waited for the
    -- lock), so what applies and what a change that did not apply found always agree.
    SELECT {users} FROM users JOIN input ON users.id = input.target_id
     ORDER BY users.id {lock}
), target AS (
    UPDATE users SET is_active = input.new_active, deactivated_at = input.new_deactivated_at,
           deactivated_by = input.new_deactivated_by, deactivation_reason = input.new_reason,
           deactivated_until = input.new_until, updated_at = input.at,
           token_version = users.token_version + 1
      FROM input JOIN locked ON locked.id = input.target_id
     WHERE users.id = locked.id AND locked.is_active = input.requires_active
       AND (input.due_at IS NULL OR locked.deactivated_until <= input.due_at)
       AND locked.role = ANY (input.target_roles::text[])
       AND {when}
       AND {holds}
 RETURNING input.n, input.at, input.actor_id, input.reason, input.event_id,
           input.notification_id, input.actor_kind, input.actor_name, input.action,
           input.client_id, input.new_until, input.event_type, input.actor_role, {users}
), event AS (
    INSERT INTO audit_events (id, user_id, actor_id, action, reason, created_at,
                              actor_kind, actor_name, actor_client_id, actor_role)
    SELECT event_id, id, actor_id, action, reason, at, actor_kind, actor_name, client_id,
           actor_role
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
), ssf AS (
    -- The SETs each change owes (SSF): per event type, one per stream not disabled that
    -- delivers it, sharing the audit event as txn, in order (seq) of type, then stream.
    INSERT INTO ssf_events (jti, stream_id, txn, event_type, subject, occurred_at, actor_kind,
                            reason, next_attempt_at)
    SELECT gen_random_uuid(), stream.id, target.event_id, kind.event_type, target.id, target.at,
           target.actor_kind, target.reason, target.at
      FROM target JOIN input ON input.n = target.n
     CROSS JOIN LATERAL (VALUES (1, input.ssf_event), (2, input.ssf_also)) AS kind (k, event_type)
      JOIN ssf_streams AS stream ON kind.event_type = ANY (stream.events_delivered)
     WHERE stream.status <> input.ssf_dropped
     ORDER BY target.n, kind.k, stream.id
)
SELECT n, TRUE AS applied, TRUE AS actor_ok, FALSE AS skipped, {target} FROM target
UNION ALL
SELECT input.n, FALSE, {holds}, FALSE, {locked}
  FROM input JOIN locked ON locked.id = input.target_id
 WHERE NOT EXISTS (SELECT 1 FROM target WHERE target.n = input.n)
UNION ALL
SELECT input.n, FALSE, {holds}, TRUE, {users}
  FROM input JOIN users ON users.id = input.target_id
 WHERE NOT EXISTS (SELECT 1 FROM locked WHERE locked.id = input.target_id)",
        input = input(shape),
    )
}

/// The statements that re-check one kind of authority, made once.
pub(crate) struct Statements {
    pub(crate) one: &'static str,
    pub(crate) one_guarded: &'static str,
    pub(crate) group: &'static str,
}

fn made(holder: Holder) -> Statements {
    let leak = |sql: String| -> &'static str { Box::leak(sql.into_boxed_str()) };
    Statements {
        one: leak(statement(Shape::One, Guard::None, holder)),
        one_guarded: leak(statement(Shape::One, Guard::LastOfRole, holder)),
        group: leak(statement(Shape::Group, Guard::None, holder)),
    }
}

static BY_ACCOUNT: LazyLock<Statements> = LazyLock::new(|| made(Holder::Account));
static BY_CLIENT: LazyLock<Statements> = LazyLock::new(|| made(Holder::Client));
static BY_SYSTEM: LazyLock<Statements> = LazyLock::new(|| made(Holder::System));

/// The statements of `holder` (built on first use, then the same texts for the process's
/// life: each is prepared once per connection).
pub(crate) fn statements(holder: Holder) -> &'static Statements {
    match holder {
        Holder::Account => &BY_ACCOUNT,
        Holder::Client => &BY_CLIENT,
        Holder::System => &BY_SYSTEM,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<String> {
        let mut all = Vec::new();
        for holder in [Holder::Account, Holder::Client, Holder::System] {
            for shape in [Shape::One, Shape::Group] {
                for guard in [Guard::None, Guard::LastOfRole] {
                    all.push(statement(shape, guard, holder));
                }
            }
        }
        all
    }

    #[test]
    fn every_statement_binds_every_parameter_and_restates_no_domain_string() {
        let count = INPUT.len();
        for sql in all() {
            for n in 1..=count {
                assert!(sql.contains(&format!("${n}::")), "${n} unused in {sql}");
            }
            assert!(!sql.contains(&format!("${}", count + 1)), "{sql}");
            // Every domain value (a role, an action, an event type) reaches it as a bind.
            assert!(!sql.contains('\''), "a literal in {sql}");
        }
    }

    #[test]
    fn every_input_column_is_used() {
        for holder in [Holder::Account, Holder::Client, Holder::System] {
            // Only an acting account has a token version and a role to re-check.
            let unused: &[&str] = match holder {
                Holder::Account => &[],
                _ => &["actor_version", "actor_role"],
            };
            for shape in [Shape::One, Shape::Group] {
                for guard in [Guard::None, Guard::LastOfRole] {
                    let sql = statement(shape, guard, holder);
                    for (name, _) in INPUT.iter().filter(|(name, _)| !unused.contains(name)) {
                        let used = sql.contains(&format!("input.{name}"));
                        assert!(used, "input.{name} unused in {sql}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_authority_checks_differ_only_where_the_holder_does() {
        let account = statement(Shape::Group, Guard::None, Holder::Account);
        assert!(account.contains("actor.token_version = input.actor_version"));
        let client = statement(Shape::Group, Guard::None, Holder::Client);
        assert!(client.contains("FROM clients AS actor"));
        let system = statement(Shape::Group, Guard::None, Holder::System);
        assert!(!system.contains("FROM users AS actor") && !system.contains("FROM clients"));
        assert!(statement(Shape::Group, Guard::None, Holder::Account).contains("SKIP LOCKED"));
        assert!(!statement(Shape::One, Guard::None, Holder::Account).contains("SKIP LOCKED"));
    }
}
