-- When the PBX last confirmed an extension's state (a webhook about it, or a resync).
ALTER TABLE extensions ADD COLUMN confirmed_at TEXT;
