-- Outbound campaigns and where each of their contacts is.
CREATE TABLE campaigns (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs (id),
    name TEXT NOT NULL,
    provider TEXT NOT NULL,
    status TEXT NOT NULL,
    concurrency INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    retry_delay_s INTEGER NOT NULL,
    calls_per_second DOUBLE PRECISION,
    calling_window TEXT,
    failure_reason TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX campaigns_org ON campaigns (org_id, id);

CREATE TABLE campaign_contacts (
    campaign_id TEXT NOT NULL REFERENCES campaigns (id),
    contact_id TEXT NOT NULL,
    org_id TEXT NOT NULL,
    phone TEXT NOT NULL,
    position BIGINT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_outcome TEXT,
    last_error TEXT,
    next_attempt_at TEXT,
    call_id TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (campaign_id, contact_id)
);
CREATE INDEX campaign_contacts_order ON campaign_contacts (campaign_id, position);
CREATE INDEX calls_org_campaign ON calls (org_id, campaign_id);
