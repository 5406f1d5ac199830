-- The PostgreSQL schema: the same tables as migrations/sqlite/, with PostgreSQL types.
-- Times are milliseconds since the Unix epoch (BIGINT), read from the repository's injected
-- clock like in SQLite, so the contract suite moves time the same way on both backends.
-- Never edit an applied migration (sqlx checks its checksum): add 0002_… instead.
CREATE TABLE articles (
    id TEXT PRIMARY KEY,
    title TEXT,
    byline TEXT,
    url TEXT,
    body TEXT NOT NULL,
    body_is_html BOOLEAN NOT NULL,
    blocks TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    voice TEXT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX articles_updated ON articles (updated_at);

-- Job IDs are random (unguessable) text; `seq` keeps insertion order for FIFO among equals.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    article_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    voice TEXT NOT NULL,
    formats TEXT NOT NULL,
    unique_key TEXT NOT NULL,
    priority INTEGER NOT NULL,
    force BOOLEAN NOT NULL DEFAULT FALSE,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'ready', 'failed', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_after BIGINT NOT NULL,
    lease_until BIGINT,
    worker TEXT,
    error TEXT,
    segments_total BIGINT,
    segments_synthesized BIGINT,
    audio_seconds DOUBLE PRECISION,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- One active job per article version and voice.
CREATE UNIQUE INDEX jobs_active_key ON jobs (unique_key) WHERE state IN ('queued', 'running');
-- The claim: queued jobs in claim order, and running jobs by lease end (expired leases).
CREATE INDEX jobs_claim_queued ON jobs (priority DESC, created_at, seq) WHERE state = 'queued';
CREATE INDEX jobs_claim_expired ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_article ON jobs (article_id, seq);
-- Pruning finished jobs by age.
CREATE INDEX jobs_finished ON jobs (updated_at) WHERE state IN ('ready', 'failed', 'cancelled');

CREATE TABLE renditions (
    article_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    voice TEXT NOT NULL,
    duration DOUBLE PRECISION NOT NULL,
    files TEXT NOT NULL,
    manifest TEXT NOT NULL,
    captions TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    segments JSONB NOT NULL DEFAULT '[]',
    PRIMARY KEY (article_id, content_hash, voice)
);

CREATE TABLE segment_cache (
    cache_key TEXT PRIMARY KEY,
    bytes BIGINT NOT NULL,
    last_used BIGINT NOT NULL
);
CREATE INDEX segment_cache_lru ON segment_cache (last_used);

CREATE TABLE segment_log (
    cache_key TEXT NOT NULL,
    job_id TEXT NOT NULL,
    at BIGINT NOT NULL
);

CREATE TABLE listen_events (
    article_id TEXT PRIMARY KEY,
    play BIGINT NOT NULL DEFAULT 0,
    progress_25 BIGINT NOT NULL DEFAULT 0,
    progress_50 BIGINT NOT NULL DEFAULT 0,
    progress_75 BIGINT NOT NULL DEFAULT 0,
    progress_100 BIGINT NOT NULL DEFAULT 0,
    ratechange BIGINT NOT NULL DEFAULT 0,
    error BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);
