-- How far a follower (Sekimori's own audit log into detection) has read (PostgreSQL).
CREATE TABLE watch_cursors (
  name TEXT PRIMARY KEY,
  seq BIGINT NOT NULL
);
