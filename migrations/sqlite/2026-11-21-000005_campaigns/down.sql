DROP INDEX calls_org_campaign;
DROP TABLE campaign_contacts;
DROP TABLE campaigns;
