CREATE TABLE revision (
  id    INTEGER PRIMARY KEY CHECK (id = 1),
  value BIGINT NOT NULL
);
INSERT INTO revision (id, value) VALUES (1, 0);

CREATE TABLE projects (
  name        TEXT PRIMARY KEY,
  description TEXT NOT NULL,
  version     BIGINT NOT NULL,
  created_at  BIGINT NOT NULL,
  updated_at  BIGINT NOT NULL
);
INSERT INTO projects (name, description, version, created_at, updated_at)
VALUES ('default', 'The default project.', 1, NOW_MS, NOW_MS);

CREATE TABLE objects (
  project    TEXT NOT NULL REFERENCES projects (name),
  kind       TEXT NOT NULL,
  name       TEXT NOT NULL,
  version    BIGINT NOT NULL,
  spec       TEXT NOT NULL,
  status     TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (project, kind, name)
);

CREATE TABLE tokens (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  kind       TEXT NOT NULL,
  hash       TEXT NOT NULL UNIQUE,
  hint       TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  revoked_at BIGINT
);
CREATE UNIQUE INDEX tokens_active_name ON tokens (name) WHERE revoked_at IS NULL;

CREATE TABLE events (
  id          BIGSERIAL PRIMARY KEY,
  time        BIGINT NOT NULL,
  project     TEXT NOT NULL,
  object_kind TEXT NOT NULL,
  object_name TEXT NOT NULL,
  action      TEXT NOT NULL,
  actor       TEXT NOT NULL,
  message     TEXT NOT NULL,
  before_json TEXT,
  after_json  TEXT
);
CREATE INDEX events_project ON events (project, id);
CREATE INDEX events_object ON events (object_kind, object_name, id);
CREATE INDEX events_time ON events (time);

CREATE TABLE idempotency (
  actor       TEXT NOT NULL,
  idem_key    TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  done        INTEGER NOT NULL,
  status      INTEGER NOT NULL,
  body        TEXT NOT NULL,
  created_at  BIGINT NOT NULL,
  PRIMARY KEY (actor, idem_key)
);

CREATE TABLE leases (
  name       TEXT PRIMARY KEY,
  holder     TEXT NOT NULL,
  epoch      BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
