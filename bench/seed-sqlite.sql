-- The SQLite twin of seed-postgres.sql (sqlite3 CLI; run.sh substitutes @USERS@).
-- Same ids (lower-case hyphenated text, as Warden stores them), same hash reuse.
PRAGMA journal_mode = WAL;
BEGIN;
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < @USERS@)
INSERT INTO users (id, email, password_hash, first_name, last_name, role, is_active,
                   token_version, created_at, updated_at)
SELECT printf('01938000-0000-7000-8000-%012x', n),
       'user' || n || '@bench.example.com',
       admin.password_hash,
       'User',
       'Number ' || n,
       'user',
       1,
       0,
       admin.created_at,
       admin.created_at
  FROM seq,
       (SELECT password_hash, created_at FROM users WHERE role = 'admin' LIMIT 1) AS admin;
COMMIT;
ANALYZE;
