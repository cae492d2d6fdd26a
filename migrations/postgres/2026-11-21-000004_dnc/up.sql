-- The org's do-not-call list: numbers (E.164) no dial may reach.
CREATE TABLE dnc (
    org_id TEXT NOT NULL REFERENCES orgs (id),
    phone TEXT NOT NULL,
    reason TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (org_id, phone)
);
