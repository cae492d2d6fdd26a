ALTER TABLE extensions DROP COLUMN confirmed_at;
