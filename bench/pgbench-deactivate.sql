-- pgbench script: the statements Warden issues for one PATCH /api/v1/users/deactivate made
-- alone, in the same order and in the same mode (two autocommit statements, prepared once per
-- connection: run with -M prepared). This is PostgreSQL's ceiling for requests that each run
-- their own statements. Under concurrency Warden does better than that: an HTTP worker applies
-- the status changes waiting at once in ONE statement (crates/warden-postgres/src/change_group.rs:
-- the same statement over arrays, `Shape::Group`), so its ratio to this ceiling can pass 1 (docs/benchmarks.md, "Concurrent changes in groups").
--   1. authentication: UserRepo::find_by_id of the admin (diesel's query text, verbatim);
--   2. the status change: the single statement of crates/warden-postgres/src/status_sql.rs
--      (`statement(Shape::One, Guard::None, Holder::Admin)`), verbatim, with its binds written
--      as expressions (pgbench variables are numbers or strings, not UUIDs or timestamps):
--        $1 target      -> seeded user number :seq as its UUID (see seed-postgres.sql)
--        $2 at          -> now()
--        $3 actor       -> :admin (the admin's id, a string; the server infers uuid)
--        $4 reason      -> :reason
--        $5, $6 ids     -> time-ordered UUIDs made from :seq (Warden: Uuid::now_v7())
--        $7 version     -> :version (the admin's token version; 0 when seeded)
--        $8, $9 actor   -> 'user' and the admin's email, :admin_name
--        $10-$13 status -> FALSE, now(), :admin, :reason (StatusChange::new_status, deactivated)
--        $14 requires   -> TRUE (StatusAction::requires_active)
--        $15, $16 roles -> 'admin', 'admin' (guarded_role, StatusChange::ACTOR_ROLE)
--        $17 action     -> 'deactivated' (StatusAction::as_str)
--        $18 client     -> NULL (no machine client acts)
--        $19 until      -> NULL (no timed suspension)
--        $20 due at     -> NULL (no lift's expectation)
--        $21 event type -> 'user.deactivated' (the webhook event; the bench has no endpoints)
-- Client c of C takes the user numbers start+c, start+c+C, ... (pgbench keeps a client's
-- variables from one transaction to the next): each transaction deactivates a different,
-- still-active user, as Warden's requests do. Variables from run.sh: -D k=-1 -D start=N
-- -D nclients=C -D admin=UUID -D reason=TEXT -D one=1 -D version=0 -D admin_name=EMAIL.
\set k :k + 1
\set seq :start + :client_id + :nclients * :k
SELECT "users"."id", "users"."email", "users"."first_name", "users"."last_name",
       "users"."role", "users"."is_active", "users"."deactivated_at", "users"."deactivated_by",
       "users"."deactivation_reason", "users"."token_version", "users"."created_at",
       "users"."updated_at", "users"."deactivated_until"
  FROM "users" WHERE ("users"."id" = :admin) LIMIT :one;
WITH input AS (
    SELECT ('01938000-0000-7000-8000-' || lpad(to_hex(:seq::bigint), 12, '0'))::uuid AS target_id, now()::timestamptz AS at, :admin::uuid AS actor_id, :reason::text AS reason, ('01940000-0000-7000-8000-' || lpad(to_hex(:seq::bigint), 12, '0'))::uuid AS event_id, ('01950000-0000-7000-8000-' || lpad(to_hex(:seq::bigint), 12, '0'))::uuid AS notification_id, :version::int4 AS actor_version, 'user'::text AS actor_kind, :admin_name::text AS actor_name, FALSE::bool AS new_active, now()::timestamptz AS new_deactivated_at, :admin::uuid AS new_deactivated_by, :reason::text AS new_reason, TRUE::bool AS requires_active, 'admin'::text AS guarded_role, 'admin'::text AS actor_role, 'deactivated'::text AS action, NULL::uuid AS client_id, NULL::timestamptz AS new_until, NULL::timestamptz AS due_at, 'user.deactivated'::text AS event_type, 1::int8 AS n
), locked AS MATERIALIZED (
    -- One lock order for every statement (by id): two groups sharing targets cannot deadlock.
    -- A row locked, this is its newest version: the change is judged on it (not on the
    -- snapshot of the statement, which may predate a change committed while we waited for the
    -- lock), so what applies and what a change that did not apply found always agree.
    SELECT users.id, users.email, users.first_name, users.last_name, users.role, users.is_active, users.deactivated_at, users.deactivated_by, users.deactivation_reason, users.token_version, users.created_at, users.updated_at, users.deactivated_until FROM users JOIN input ON users.id = input.target_id
     ORDER BY users.id FOR NO KEY UPDATE OF users
), target AS (
    UPDATE users SET is_active = input.new_active, deactivated_at = input.new_deactivated_at,
           deactivated_by = input.new_deactivated_by, deactivation_reason = input.new_reason,
           deactivated_until = input.new_until, updated_at = input.at,
           token_version = users.token_version + 1
      FROM input JOIN locked ON locked.id = input.target_id
     WHERE users.id = locked.id AND locked.is_active = input.requires_active
       AND (input.due_at IS NULL OR locked.deactivated_until <= input.due_at)
       AND locked.role IS DISTINCT FROM input.guarded_role
       AND EXISTS (SELECT 1 FROM users AS actor
WHERE actor.id = input.actor_id AND actor.is_active
AND actor.role = input.actor_role
AND actor.token_version = input.actor_version)
 RETURNING input.n, input.at, input.actor_id, input.reason, input.event_id,
           input.notification_id, input.actor_kind, input.actor_name, input.action,
           input.client_id, input.new_until, input.event_type, users.id, users.email, users.first_name, users.last_name, users.role, users.is_active, users.deactivated_at, users.deactivated_by, users.deactivation_reason, users.token_version, users.created_at, users.updated_at, users.deactivated_until
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
SELECT n, TRUE AS applied, TRUE AS actor_ok, FALSE AS skipped, target.id, target.email, target.first_name, target.last_name, target.role, target.is_active, target.deactivated_at, target.deactivated_by, target.deactivation_reason, target.token_version, target.created_at, target.updated_at, target.deactivated_until FROM target
UNION ALL
SELECT input.n, FALSE, EXISTS (SELECT 1 FROM users AS actor
WHERE actor.id = input.actor_id AND actor.is_active
AND actor.role = input.actor_role
AND actor.token_version = input.actor_version), FALSE, locked.id, locked.email, locked.first_name, locked.last_name, locked.role, locked.is_active, locked.deactivated_at, locked.deactivated_by, locked.deactivation_reason, locked.token_version, locked.created_at, locked.updated_at, locked.deactivated_until
  FROM input JOIN locked ON locked.id = input.target_id
 WHERE NOT EXISTS (SELECT 1 FROM target WHERE target.n = input.n)
UNION ALL
SELECT input.n, FALSE, EXISTS (SELECT 1 FROM users AS actor
WHERE actor.id = input.actor_id AND actor.is_active
AND actor.role = input.actor_role
AND actor.token_version = input.actor_version), TRUE, users.id, users.email, users.first_name, users.last_name, users.role, users.is_active, users.deactivated_at, users.deactivated_by, users.deactivation_reason, users.token_version, users.created_at, users.updated_at, users.deactivated_until
  FROM input JOIN users ON users.id = input.target_id
 WHERE NOT EXISTS (SELECT 1 FROM locked WHERE locked.id = input.target_id);
