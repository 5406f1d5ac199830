-- The schema of audioby 0.1, before versioned migrations. Every statement keeps
-- `IF NOT EXISTS`: a data folder made by that release already has these tables (and no
-- `_sqlx_migrations`), so this migration adopts it as version 1 without touching its rows.
-- Later changes go in new files (0002_…); never edit this one (sqlx checks its checksum).
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    title TEXT,
    byline TEXT,
    url TEXT,
    body TEXT NOT NULL,
    body_is_html INTEGER NOT NULL,
    blocks TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    voice TEXT,
    updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    voice TEXT NOT NULL,
    formats TEXT NOT NULL,
    unique_key TEXT NOT NULL,
    priority INTEGER NOT NULL,
    force INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_after INTEGER NOT NULL,
    lease_until INTEGER,
    worker TEXT,
    error TEXT,
    segments_total INTEGER,
    segments_synthesized INTEGER,
    audio_seconds REAL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_active_key ON jobs(unique_key) WHERE state IN ('queued', 'running');
CREATE INDEX IF NOT EXISTS jobs_claim ON jobs(state, priority, created_at);
CREATE TABLE IF NOT EXISTS renditions (
    article_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    voice TEXT NOT NULL,
    duration REAL NOT NULL,
    files TEXT NOT NULL,
    manifest TEXT NOT NULL,
    captions TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    segments TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (article_id, content_hash, voice)
);
CREATE TABLE IF NOT EXISTS segment_cache (
    cache_key TEXT PRIMARY KEY,
    bytes INTEGER NOT NULL,
    last_used INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS segment_cache_lru ON segment_cache(last_used);
CREATE TABLE IF NOT EXISTS segment_log (
    cache_key TEXT NOT NULL,
    job_id INTEGER NOT NULL,
    at INTEGER NOT NULL
);
