-- Optional article metadata (section, tags, publication date) as one JSON object: podcast
-- feeds select and sort by it. Articles stored before have none.
ALTER TABLE articles ADD COLUMN meta TEXT NOT NULL DEFAULT '{}';
