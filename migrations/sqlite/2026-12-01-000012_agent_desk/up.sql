-- The agent desk (CONTRACT.md "Agents, queues and dispositions"): agents with their own
-- availability, queues that offer inbound calls to them, an org's disposition codes, scheduled
-- callbacks, and the auto-record flags of orgs and campaigns.
CREATE TABLE agents (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs (id),
    name TEXT NOT NULL,
    -- JSON arrays of strings.
    extensions TEXT NOT NULL,
    skills TEXT NOT NULL,
    -- Where a provider connects a caller to this agent (a number or a sip: URI), when set.
    phone TEXT,
    availability TEXT NOT NULL,
    availability_reason TEXT,
    availability_since TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX agents_org ON agents (org_id, id);
CREATE TABLE queues (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs (id),
    name TEXT NOT NULL,
    skills TEXT NOT NULL,
    sla_s INTEGER NOT NULL,
    ring_timeout_s INTEGER NOT NULL,
    wrap_up_s INTEGER NOT NULL,
    number TEXT,
    priority INTEGER NOT NULL,
    max_wait_s INTEGER,
    overflow_queue_id TEXT,
    overflow_message TEXT,
    max_missed_offers INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX queues_org ON queues (org_id, id);
CREATE TABLE disposition_codes (
    org_id TEXT NOT NULL REFERENCES orgs (id),
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (org_id, code)
);
CREATE TABLE callbacks (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs (id),
    call_id TEXT NOT NULL,
    contact_id TEXT,
    phone TEXT NOT NULL,
    provider TEXT NOT NULL,
    from_number TEXT,
    campaign_id TEXT,
    due_at TEXT NOT NULL,
    status TEXT NOT NULL,
    dialed_call_id TEXT,
    error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX callbacks_due ON callbacks (status, due_at);
CREATE INDEX callbacks_org ON callbacks (org_id, id);
ALTER TABLE calls ADD COLUMN queue_id TEXT;
ALTER TABLE calls ADD COLUMN queued_at TEXT;
ALTER TABLE calls ADD COLUMN agent_id TEXT;
ALTER TABLE calls ADD COLUMN assigned_at TEXT;
ALTER TABLE calls ADD COLUMN disposition TEXT;
-- JSON {"note"?, "callback_at"?, "at", "agent_id"?}.
ALTER TABLE calls ADD COLUMN disposition_detail TEXT;
CREATE INDEX calls_org_queue_created ON calls (org_id, queue_id, created_at);
ALTER TABLE orgs ADD COLUMN record BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE campaigns ADD COLUMN record BOOLEAN NOT NULL DEFAULT FALSE;
