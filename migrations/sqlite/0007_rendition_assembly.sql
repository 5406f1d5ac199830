-- The assembly settings (loudness target, clips, gaps) a rendition was made with, as a key:
-- a rendition whose key differs from the current one is re-assembled from cached segments.
ALTER TABLE renditions ADD COLUMN assembly TEXT NOT NULL DEFAULT '';
