DROP TABLE credit_ledger;
DROP TABLE credit_accounts;
DROP TABLE rates;
DROP INDEX calls_org_campaign_created;
DROP INDEX calls_org_created;
CREATE INDEX calls_org_campaign ON calls (org_id, campaign_id);
ALTER TABLE calls DROP COLUMN provider_price;
ALTER TABLE calls DROP COLUMN cost_micros;
ALTER TABLE calls DROP COLUMN billed_s;
