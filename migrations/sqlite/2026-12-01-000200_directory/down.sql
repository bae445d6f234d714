DROP INDEX users_inactive;
DROP INDEX audit_events_by_client;
DROP INDEX audit_events_by_actor;
