ALTER TABLE audit_events DROP COLUMN actor_client_id;
DROP TABLE clients;
