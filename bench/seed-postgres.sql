-- Seeds :users users (numbers 1..:users) in one statement, for bench/run.sh (psql -v users=N).
-- User n gets the id 01938000-0000-7000-8000-<n as 12 hex digits>: a well-formed, time-ordered
-- (UUIDv7-shaped) id that bench/deactivate.lua and bench/pgbench-deactivate.sql can compute
-- from n alone. Every row reuses the argon2 hash of the admin created through the CLI just
-- before, so seeding costs no hashing at all.
\set ON_ERROR_STOP on
INSERT INTO users (id, email, password_hash, first_name, last_name, role, is_active,
                   token_version, created_at, updated_at)
SELECT ('01938000-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid,
       'user' || n || '@bench.example.com',
       admin.password_hash,
       'User',
       'Number ' || n,
       'user',
       TRUE,
       0,
       admin.created_at,
       admin.created_at
  FROM generate_series(1, :users) AS n,
       (SELECT password_hash, created_at FROM users WHERE role = 'admin' LIMIT 1) AS admin;
VACUUM (ANALYZE) users;
