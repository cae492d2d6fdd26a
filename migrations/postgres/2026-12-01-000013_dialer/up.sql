-- The dialer (CONTRACT.md "Dialer"): a campaign's dial mode and agents' queue, its abandon cap,
-- answering-machine rule, recycling rules by outcome, abandon message and the per-number daily
-- attempt cap; each contact's own time zone and priority; a call's answering-machine result.
ALTER TABLE campaigns ADD COLUMN mode TEXT NOT NULL DEFAULT 'fixed';
ALTER TABLE campaigns ADD COLUMN queue_id TEXT;
ALTER TABLE campaigns ADD COLUMN max_abandon_rate DOUBLE PRECISION NOT NULL DEFAULT 0.03;
ALTER TABLE campaigns ADD COLUMN amd TEXT NOT NULL DEFAULT 'off';
-- JSON array of {"outcome", "after_s", "max_attempts"?}.
ALTER TABLE campaigns ADD COLUMN recycle TEXT;
ALTER TABLE campaigns ADD COLUMN abandon_message TEXT;
ALTER TABLE campaigns ADD COLUMN daily_attempt_cap INTEGER NOT NULL DEFAULT 3;
ALTER TABLE campaign_contacts ADD COLUMN tz TEXT;
ALTER TABLE campaign_contacts ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN amd TEXT;
