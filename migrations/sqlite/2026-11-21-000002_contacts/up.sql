-- The org's contacts (callers and campaign leads), one per phone number (E.164).
CREATE TABLE contacts (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs (id),
    phone TEXT NOT NULL,
    name TEXT,
    company TEXT,
    fields TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX contacts_phone ON contacts (org_id, phone);

-- The carrier's own id of a call placed through a voice bot (Bolna `telephony_data.provider_call_id`).
ALTER TABLE calls ADD COLUMN carrier_call_id TEXT;
CREATE INDEX calls_org_contact ON calls (org_id, contact_id);
CREATE INDEX calls_org_from ON calls (org_id, from_number);
CREATE INDEX calls_org_to ON calls (org_id, to_number);
CREATE INDEX calls_org_carrier ON calls (org_id, carrier_call_id);
