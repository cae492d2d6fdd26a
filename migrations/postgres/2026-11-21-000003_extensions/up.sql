-- PBX extensions and their presence, committed with the event that changed it.
CREATE TABLE extensions (
    org_id TEXT NOT NULL REFERENCES orgs (id),
    number TEXT NOT NULL,
    name TEXT,
    registered BOOLEAN NOT NULL DEFAULT FALSE,
    dnd BOOLEAN NOT NULL DEFAULT FALSE,
    presence TEXT NOT NULL,
    calls TEXT NOT NULL DEFAULT '{}',
    left_calls TEXT NOT NULL DEFAULT '[]',
    since TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (org_id, number)
);
