-- The directory: the audit log filtered by actor (GET /api/v1/events?actor_id=), newest first.
-- Account search on SQLite compares names lower-cased by a function Warden registers on the
-- connection (SQLite's own lower() knows ASCII only), which an index cannot hold: a search
-- walks the accounts newest first until a page is full. Fine for the embedded store; large
-- directories belong on PostgreSQL, whose indexes serve the prefix match.
CREATE INDEX audit_events_by_actor ON audit_events (actor_id, id DESC);
CREATE INDEX audit_events_by_client ON audit_events (actor_client_id, id DESC);
CREATE INDEX users_inactive ON users (id DESC) WHERE NOT is_active;
