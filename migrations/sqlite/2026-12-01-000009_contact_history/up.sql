-- A contact's history (screen pop, by-phone lookup) is the newest calls by contact, caller or
-- callee: with the id in these indexes it is read from them in order, never by scanning the org.
DROP INDEX calls_org_contact;
DROP INDEX calls_org_from;
DROP INDEX calls_org_to;
CREATE INDEX calls_org_contact ON calls (org_id, contact_id, id);
CREATE INDEX calls_org_from ON calls (org_id, from_number, id);
CREATE INDEX calls_org_to ON calls (org_id, to_number, id);
-- The screen pop's suggested agent: the online extension free the longest, read off an index.
CREATE INDEX extensions_free ON extensions (org_id, presence, since);
