-- Scoped tokens of an org (CONTRACT.md, "Scoped tokens"): a wallboard's viewer token reads and
-- changes nothing. Only the SHA-256 of a token is kept.
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs (id),
    role TEXT NOT NULL,
    agent_id TEXT,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE INDEX api_tokens_by_org ON api_tokens (org_id, id);
