-- The outbox keeps the recipient's first name, not a greeting name computed in SQL: the domain
-- (warden_domain::display_name) turns it into the name to greet by when the entry is read.
-- Entries written before this migration hold that greeting name already; the rule maps a
-- greeting name to itself (a non-blank name stays, an email address is not blank), so they
-- are delivered unchanged.
ALTER TABLE outbox RENAME COLUMN recipient_name TO recipient_first_name;
