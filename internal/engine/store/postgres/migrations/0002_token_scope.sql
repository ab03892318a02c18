-- Tokens carry the project that sdk tokens evaluate in ('' = default) and
-- the all-on override for acceptance tests.
ALTER TABLE tokens ADD COLUMN project TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN all_on INTEGER NOT NULL DEFAULT 0;
