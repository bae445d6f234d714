-- pgbench script: the statements Warden issues for one PATCH /api/v1/users/deactivate made
-- alone, in the same order and in the same mode (two autocommit statements, prepared once per
-- connection: run with -M prepared). This is PostgreSQL's ceiling for requests that each run
-- their own statements. Under concurrency Warden does better than that: an HTTP worker applies
-- the status changes waiting at once in ONE statement (GROUPED_BY_ADMIN of
-- crates/warden-postgres/src/change_group.rs, the same CTEs over arrays), so its ratio to this
-- ceiling can pass 1 (docs/benchmarks.md, "Concurrent changes in groups").
--   1. authentication: UserRepo::find_by_id of the admin (diesel's query text, verbatim);
--   2. the status change: UNGUARDED of crates/warden-postgres/src/status_change.rs, verbatim,
--      with its binds written as expressions (pgbench variables are numbers or strings, not
--      UUIDs or timestamps):
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
WITH target AS (
    UPDATE users SET is_active = FALSE, deactivated_at = now(), deactivated_by = :admin::uuid,
           deactivation_reason = :reason::text, deactivated_until = NULL::timestamptz, updated_at = now(),
           token_version = token_version + 1
     WHERE id = ('01938000-0000-7000-8000-' || lpad(to_hex(:seq::bigint), 12, '0'))::uuid AND is_active = TRUE
       AND (NULL::timestamptz IS NULL OR deactivated_until <= NULL::timestamptz) AND role IS DISTINCT FROM 'admin'
       AND EXISTS (SELECT 1 FROM users AS actor
                  WHERE actor.id = :admin AND actor.is_active AND actor.role = 'admin'
                    AND actor.token_version = :version)
 RETURNING id, email, first_name, last_name, role, is_active, deactivated_at, deactivated_by, deactivation_reason, token_version, created_at, updated_at, deactivated_until
), event AS (
    INSERT INTO audit_events (id, user_id, actor_id, action, reason, created_at,
                              actor_kind, actor_name, actor_client_id)
    SELECT ('01940000-0000-7000-8000-' || lpad(to_hex(:seq::bigint), 12, '0'))::uuid, id, :admin::uuid, 'deactivated', :reason::text, now(), 'user', :admin_name::text, NULL::uuid FROM target
), notification AS (
    INSERT INTO outbox (id, action, recipient, recipient_first_name, reason, occurred_at,
                        next_attempt_at, suspended_until)
    SELECT ('01950000-0000-7000-8000-' || lpad(to_hex(:seq::bigint), 12, '0'))::uuid, 'deactivated', email, first_name, :reason::text, now(), now(), NULL::timestamptz FROM target
), webhook AS (
    INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, email,
                                    next_attempt_at)
    SELECT gen_random_uuid(), hook.id, ('01940000-0000-7000-8000-' || lpad(to_hex(:seq::bigint), 12, '0'))::uuid, 'user.deactivated', target.email, now()
      FROM target, webhook_endpoints AS hook
     WHERE hook.enabled AND (hook.events IS NULL OR 'user.deactivated' = ANY (hook.events))
)
SELECT TRUE AS applied, TRUE AS actor_ok, id, email, first_name, last_name, role, is_active, deactivated_at, deactivated_by, deactivation_reason, token_version, created_at, updated_at, deactivated_until FROM target
UNION ALL
SELECT FALSE, EXISTS (SELECT 1 FROM users AS actor
                  WHERE actor.id = :admin AND actor.is_active AND actor.role = 'admin'
                    AND actor.token_version = :version), id, email, first_name, last_name, role, is_active, deactivated_at, deactivated_by, deactivation_reason, token_version, created_at, updated_at, deactivated_until FROM users
 WHERE id = ('01938000-0000-7000-8000-' || lpad(to_hex(:seq::bigint), 12, '0'))::uuid AND NOT EXISTS (SELECT 1 FROM target);
