-- The code before this migration reads a ready greeting name: give blank first names the email
-- address, as warden_domain::display_name would.
UPDATE outbox SET recipient_first_name = recipient
 WHERE trim(recipient_first_name, ' ' || char(9) || char(10) || char(13)) = '';
ALTER TABLE outbox RENAME COLUMN recipient_first_name TO recipient_name;
