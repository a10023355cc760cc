-- Web origins allowed to start a QR login for an app (the JS snippet), JSON array; and
-- the app a QR session was started for (its assertion's audience) (SQLite).
ALTER TABLE apps ADD COLUMN origins TEXT;
ALTER TABLE qr_sessions ADD COLUMN app_id TEXT;
