-- Times are RFC 3339 UTC text of fixed width (sorts as time); ids are UUID text; JSON is text.
CREATE TABLE orgs (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    api_token_hash TEXT NOT NULL UNIQUE,
    webhook_token_hash TEXT NOT NULL UNIQUE,
    default_country TEXT NOT NULL DEFAULT 'IN',
    created_at TEXT NOT NULL
);

CREATE TABLE provider_accounts (
    org_id TEXT NOT NULL REFERENCES orgs (id),
    provider TEXT NOT NULL,
    credentials TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (org_id, provider)
);

CREATE TABLE calls (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs (id),
    provider TEXT NOT NULL,
    provider_call_id TEXT,
    direction TEXT NOT NULL,
    status TEXT NOT NULL,
    from_number TEXT,
    to_number TEXT,
    campaign_id TEXT,
    contact_id TEXT,
    extensions TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    started_at TEXT,
    ringing_at TEXT,
    answered_at TEXT,
    ended_at TEXT,
    duration_s BIGINT,
    talk_s BIGINT,
    reported_talk_s BIGINT,
    cost TEXT,
    currency TEXT,
    hangup_cause TEXT,
    recording_url TEXT,
    analytics TEXT,
    final_by TEXT,
    last_event_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX calls_provider_call ON calls (org_id, provider, provider_call_id);
CREATE INDEX calls_org_status ON calls (org_id, status);
CREATE INDEX calls_org_id ON calls (org_id, id);

-- The call timeline: every accepted provider event once, and the engine's own events.
CREATE TABLE call_events (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL,
    call_id TEXT NOT NULL REFERENCES calls (id),
    dedupe_key TEXT,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    raw_status TEXT,
    status_after TEXT NOT NULL,
    occurred_at TEXT,
    received_at TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX call_events_call ON call_events (call_id, id);

-- The per-org event log dashboards read: live stream and replay are the same rows.
CREATE TABLE events (
    org_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    subject TEXT NOT NULL,
    data TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (org_id, seq)
);

-- Every accepted raw webhook, once (dedupe key unique per org and provider).
CREATE TABLE webhook_inbox (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    dedupe_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    content_type TEXT,
    body BYTEA NOT NULL,
    outcome TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE UNIQUE INDEX webhook_inbox_dedupe ON webhook_inbox (org_id, provider, dedupe_key);
CREATE INDEX webhook_inbox_org ON webhook_inbox (org_id, id);
