-- Sent notifications are deleted after WARDEN_OUTBOX_RETENTION_DAYS, oldest first, in small
-- batches: this index finds them without scanning the outbox.
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
