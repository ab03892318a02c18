-- Shadow tokens are scoped to the dark launches they name (comma-separated).
ALTER TABLE tokens ADD COLUMN dark_launches TEXT NOT NULL DEFAULT '';
