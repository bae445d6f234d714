-- A third role: helpdesk (support staff who may suspend and restore `user` accounts only; see
-- docs/security.md, "Who may do what").
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('admin', 'helpdesk', 'user'));
