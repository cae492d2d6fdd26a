DROP INDEX extensions_free;
DROP INDEX calls_org_contact;
DROP INDEX calls_org_from;
DROP INDEX calls_org_to;
CREATE INDEX calls_org_contact ON calls (org_id, contact_id);
CREATE INDEX calls_org_from ON calls (org_id, from_number);
CREATE INDEX calls_org_to ON calls (org_id, to_number);
