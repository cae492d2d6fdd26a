-- Money, exactly: a call's bill (billed seconds, cost in millionths of the org's currency, summed
-- as integers), the provider's own price as it reported it, per-org rates, credits and their ledger.
ALTER TABLE calls ADD COLUMN billed_s BIGINT;
ALTER TABLE calls ADD COLUMN cost_micros BIGINT;
ALTER TABLE calls ADD COLUMN provider_price TEXT;
UPDATE calls SET provider_price = json_build_object('amount', cost, 'currency', COALESCE(currency, 'USD'))::text,
    cost_micros = CAST(ROUND(CAST(cost AS NUMERIC) * 1000000) AS BIGINT)
    WHERE cost IS NOT NULL;
-- Metrics by period: the org's calls by creation time.
CREATE INDEX calls_org_created ON calls (org_id, created_at);
CREATE INDEX calls_org_campaign_created ON calls (org_id, campaign_id, created_at);
DROP INDEX calls_org_campaign;
CREATE TABLE rates (
    org_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    direction TEXT NOT NULL,
    prefix TEXT NOT NULL,
    per_minute_micros BIGINT NOT NULL,
    increment_s BIGINT NOT NULL,
    minimum_s BIGINT NOT NULL,
    PRIMARY KEY (org_id, provider, direction, prefix)
);
CREATE TABLE credit_accounts (
    org_id TEXT PRIMARY KEY NOT NULL,
    currency TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    balance_micros BIGINT NOT NULL,
    low_threshold_micros BIGINT,
    updated_at TEXT NOT NULL
);
CREATE TABLE credit_ledger (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL,
    at TEXT NOT NULL,
    amount_micros BIGINT NOT NULL,
    balance_micros BIGINT NOT NULL,
    call_id TEXT,
    reason TEXT NOT NULL
);
CREATE INDEX credit_ledger_org ON credit_ledger (org_id, id);
CREATE INDEX credit_ledger_call ON credit_ledger (call_id);
