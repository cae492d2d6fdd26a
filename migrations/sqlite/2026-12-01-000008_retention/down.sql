DROP INDEX events_at;
