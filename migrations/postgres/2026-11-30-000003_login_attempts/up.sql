-- Sign-in attempts shared by every replica: one row per (client, account) pair (account '='
-- followed by the address typed) and one per client (account ''). Written only by warden-postgres's login_attempts module, in short
-- transactions that lock the client's row first.
CREATE TABLE login_attempts (
    client        TEXT NOT NULL,
    account       TEXT NOT NULL,
    attempts      INTEGER NOT NULL CHECK (attempts >= 0),
    first_at      TIMESTAMPTZ NOT NULL,
    blocked_until TIMESTAMPTZ,
    -- When the row stops mattering (end of its window or of its lockout): pruned after that.
    expires_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (client, account)
);

CREATE INDEX login_attempts_expiry ON login_attempts (expires_at);
