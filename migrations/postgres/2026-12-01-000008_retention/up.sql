-- Retention prunes the org event log by time (SWITCHBOARD_RETENTION_DAYS).
CREATE INDEX events_at ON events (at);
