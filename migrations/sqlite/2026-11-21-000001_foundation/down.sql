DROP TABLE webhook_inbox;
DROP TABLE events;
DROP TABLE call_events;
DROP TABLE calls;
DROP TABLE provider_accounts;
DROP TABLE orgs;
