ALTER TABLE calls DROP COLUMN recording;
