-- Listen analytics beyond counts (issue 16, part 8): unique listens and drop-off.
-- Per article: distinct listeners per day, summed (`unique_listens`), and the sentence count
-- of the published audio when a listen last reported (`sentences`).
ALTER TABLE listen_events ADD COLUMN unique_listens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE listen_events ADD COLUMN sentences INTEGER NOT NULL DEFAULT 0;

-- Drop-off: how many listens got no further than each sentence. One row per sentence some
-- listen stopped at, so an article has at most as many rows as sentences.
CREATE TABLE listen_reach (
    article_id TEXT NOT NULL,
    sentence INTEGER NOT NULL,
    listens INTEGER NOT NULL,
    PRIMARY KEY (article_id, sentence)
);

-- Day-scoped, deleted after their day: the day's random salt with the day's counts of new
-- listeners and listens (the daily caps), ...
CREATE TABLE listen_days (
    day INTEGER PRIMARY KEY,
    salt BLOB NOT NULL,
    listeners INTEGER NOT NULL DEFAULT 0,
    listens INTEGER NOT NULL DEFAULT 0
);
-- ... the day's listener hashes (salt + client IP + user agent + article; never the IP) ...
CREATE TABLE listen_listeners (
    day INTEGER NOT NULL,
    hash INTEGER NOT NULL,
    PRIMARY KEY (day, hash)
) WITHOUT ROWID;
-- ... and each listen's furthest sentence (a random ID per page load), kept into the next day
-- for a listen that crosses midnight.
CREATE TABLE listen_progress (
    article_id TEXT NOT NULL,
    listen_id TEXT NOT NULL,
    day INTEGER NOT NULL,
    furthest INTEGER NOT NULL,
    PRIMARY KEY (article_id, listen_id)
);
CREATE INDEX listen_progress_day ON listen_progress (day);
