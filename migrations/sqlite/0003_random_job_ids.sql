-- Job IDs become random (128 bits, 32 lowercase hex characters): they are public, and
-- sequential integers let anyone walk /v1/jobs/1..N. The old integer keeps the insertion
-- order as `seq` (FIFO among equal priority and creation time); new rows take MAX(seq) + 1
-- inside the inserting (write-locked) transaction. Existing jobs get random IDs and the
-- segment log follows them.
CREATE TABLE jobs_new (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
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
INSERT INTO jobs_new (id, seq, article_id, content_hash, voice, formats, unique_key, priority,
    force, state, attempts, max_attempts, run_after, lease_until, worker, error,
    segments_total, segments_synthesized, audio_seconds, created_at, updated_at)
SELECT lower(hex(randomblob(16))), id, article_id, content_hash, voice, formats, unique_key,
    priority, force, state, attempts, max_attempts, run_after, lease_until, worker, error,
    segments_total, segments_synthesized, audio_seconds, created_at, updated_at
FROM jobs;
CREATE TABLE segment_log_new (
    cache_key TEXT NOT NULL,
    job_id TEXT NOT NULL,
    at INTEGER NOT NULL
);
INSERT INTO segment_log_new (cache_key, job_id, at)
SELECT l.cache_key, COALESCE(j.id, ''), l.at
FROM segment_log l LEFT JOIN jobs_new j ON j.seq = l.job_id;
DROP TABLE segment_log;
ALTER TABLE segment_log_new RENAME TO segment_log;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE UNIQUE INDEX jobs_active_key ON jobs(unique_key) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_claim ON jobs(state, priority, created_at);
CREATE UNIQUE INDEX jobs_seq ON jobs(seq);
CREATE INDEX jobs_article ON jobs(article_id, seq);
