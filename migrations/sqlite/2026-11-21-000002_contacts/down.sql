DROP INDEX calls_org_carrier;
DROP INDEX calls_org_to;
DROP INDEX calls_org_from;
DROP INDEX calls_org_contact;
ALTER TABLE calls DROP COLUMN carrier_call_id;
DROP TABLE contacts;
