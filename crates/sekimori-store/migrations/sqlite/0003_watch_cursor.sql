-- How far a follower (Sekimori's own audit log into detection) has read (SQLite).
CREATE TABLE watch_cursors (
  name TEXT PRIMARY KEY,
  seq INTEGER NOT NULL
);
