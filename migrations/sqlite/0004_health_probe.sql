-- One row the readiness probe rewrites: `/readyz` proves the database accepts a write (a
-- read still succeeds on a full disk or with the write lock stuck).
CREATE TABLE IF NOT EXISTS health_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at INTEGER NOT NULL
);
