-- Facts about this engine cluster, such as its ID (the tag on the AWS
-- objects it owns).
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
