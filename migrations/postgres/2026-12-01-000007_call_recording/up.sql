-- The recording as the PBX names it (a file on the PBX, not a URL): Yeastar CDR `recording`.
ALTER TABLE calls ADD COLUMN recording TEXT;
