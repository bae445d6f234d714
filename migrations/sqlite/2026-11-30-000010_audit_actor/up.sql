-- Who made each change: the kind of actor (an admin over the API, or an operator at the CLI
-- acting on an admin's authority) and its recorded name (the admin's email, or the OS user).
-- Kinds are validated by the adapter (the domain owns the list), so new kinds need no migration.
ALTER TABLE audit_events
    ADD COLUMN actor_kind TEXT NOT NULL DEFAULT 'user';
ALTER TABLE audit_events ADD COLUMN actor_name TEXT NOT NULL DEFAULT '';

UPDATE audit_events
   SET actor_name = coalesce((SELECT email FROM users WHERE users.id = audit_events.actor_id), '');
