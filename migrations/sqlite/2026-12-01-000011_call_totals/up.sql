-- Each org's totals per creation day, campaign, status and currency, kept by the writer in the
-- commit that changes a call (its old share out, its new one in): the org's figures are read from
-- these rows instead of from every call.
CREATE TABLE call_totals (
    org_id TEXT NOT NULL,
    day TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    status TEXT NOT NULL,
    currency TEXT NOT NULL,
    calls BIGINT NOT NULL,
    answered BIGINT NOT NULL,
    talk_s BIGINT NOT NULL,
    talked BIGINT NOT NULL,
    priced BIGINT NOT NULL,
    cost_micros BIGINT NOT NULL,
    billed_s BIGINT NOT NULL,
    PRIMARY KEY (org_id, day, campaign_id, status, currency)
);
CREATE INDEX call_totals_campaign ON call_totals (org_id, campaign_id, day);
INSERT INTO call_totals
SELECT org_id, substr(created_at, 1, 10), COALESCE(campaign_id, ''), status, COALESCE(currency, ''),
    COUNT(*),
    SUM(CASE WHEN answered_at IS NOT NULL THEN 1 ELSE 0 END),
    COALESCE(SUM(talk_s), 0),
    SUM(CASE WHEN talk_s IS NOT NULL AND answered_at IS NOT NULL THEN 1 ELSE 0 END),
    SUM(CASE WHEN cost_micros IS NOT NULL THEN 1 ELSE 0 END),
    COALESCE(SUM(cost_micros), 0),
    COALESCE(SUM(billed_s), 0)
FROM calls
GROUP BY org_id, substr(created_at, 1, 10), COALESCE(campaign_id, ''), status, COALESCE(currency, '');
