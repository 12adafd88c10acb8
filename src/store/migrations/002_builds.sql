-- The build cache (SPEC §4): one row per build key, the files a build
-- produced, and which jobs wait on which builds.

CREATE TABLE builds (
  key            TEXT PRIMARY KEY,
  pkg            TEXT    NOT NULL,
  fork           TEXT    NOT NULL,
  url            TEXT    NOT NULL,
  sha            TEXT    NOT NULL,
  commit_ref     TEXT    NOT NULL,          -- the commit as first written (tag, branch, sha)
  config         TEXT,                      -- config name under configs/<pkg>/
  config_sha256  TEXT,
  os             TEXT    NOT NULL,
  os_version     TEXT    NOT NULL,
  os_arch        TEXT    NOT NULL,
  recipe         TEXT    NOT NULL,
  recipe_sha256  TEXT    NOT NULL,
  params         TEXT    NOT NULL,          -- JSON
  testbox        TEXT    NOT NULL,          -- group the pkgbuild job runs on
  state          TEXT    NOT NULL,          -- queued | building | succeeded | failed | cancelled
  attempts       INTEGER NOT NULL DEFAULT 0,
  pkgbuild_job   {{bigint}},                   -- the current (or last) pkgbuild job
  error          TEXT,                      -- JSON: why it failed
  created_at     {{bigint}} NOT NULL,
  started_at     {{bigint}},
  finished_at    {{bigint}}
);
CREATE INDEX builds_state ON builds (state, created_at);
CREATE INDEX builds_pkg ON builds (pkg, sha);

CREATE TABLE build_files (
  build_key  TEXT    NOT NULL REFERENCES builds (key),
  name       TEXT    NOT NULL,              -- pkg.cgz | vmlinuz | modules.cgz
  path       TEXT    NOT NULL,              -- URL path, also the file under <data>/srv
  size       {{bigint}} NOT NULL,
  sha256     TEXT    NOT NULL,
  job_id     {{bigint}} NOT NULL,            -- the pkgbuild job that uploaded it
  PRIMARY KEY (build_key, name)
);

CREATE TABLE job_deps (
  job_id     {{bigint}} NOT NULL REFERENCES jobs (id),
  build_key  TEXT    NOT NULL REFERENCES builds (key),
  pkg        TEXT    NOT NULL,
  state      TEXT    NOT NULL,              -- waiting | done | failed | detached
  PRIMARY KEY (job_id, build_key)
);
CREATE INDEX job_deps_build ON job_deps (build_key, state);

ALTER TABLE jobs ADD COLUMN build_key TEXT;  -- set on pkgbuild jobs: the build they make
ALTER TABLE testboxes ADD COLUMN mac TEXT;   -- vm/hw boxes boot by MAC (/boot.ipxe?mac=)
CREATE INDEX testboxes_mac ON testboxes (mac);
