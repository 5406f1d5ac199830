-- Listening events from the player, counted per article (was <data_dir>/events.json, a whole
-- file rewritten and fsynced on every event). One row per article, one column per counter:
-- an event is one UPSERT that adds 1.
CREATE TABLE IF NOT EXISTS listen_events (
    article_id TEXT PRIMARY KEY,
    play INTEGER NOT NULL DEFAULT 0,
    progress_25 INTEGER NOT NULL DEFAULT 0,
    progress_50 INTEGER NOT NULL DEFAULT 0,
    progress_75 INTEGER NOT NULL DEFAULT 0,
    progress_100 INTEGER NOT NULL DEFAULT 0,
    ratechange INTEGER NOT NULL DEFAULT 0,
    error INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
);
