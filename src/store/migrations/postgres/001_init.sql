-- Jobs, their timeline, testboxes and accounts: the scheduler's memory.
-- Times are epoch milliseconds; JSON documents are TEXT (parsed in the store,
-- the same on both dialects).

CREATE TABLE jobs (
  id             BIGSERIAL PRIMARY KEY,
  account        TEXT    NOT NULL,
  suite          TEXT    NOT NULL,
  testbox        TEXT    NOT NULL,
  tbox_type      TEXT    NOT NULL,
  arch           TEXT    NOT NULL,
  os             TEXT    NOT NULL,
  os_version     TEXT    NOT NULL,
  memory_minimum DOUBLE PRECISION NOT NULL,
  priority       INTEGER NOT NULL,
  runtime        INTEGER NOT NULL,
  stage          TEXT    NOT NULL,
  health         TEXT,
  deps_pending   INTEGER NOT NULL DEFAULT 0,
  assigned       TEXT,
  deadline       BIGINT,
  submit_time    BIGINT  NOT NULL,
  boot_time      BIGINT,
  running_time   BIGINT,
  finish_time    BIGINT,
  result_root    TEXT    NOT NULL,
  spec           TEXT    NOT NULL,
  stats          TEXT,
  dep_failure    TEXT
);

CREATE INDEX jobs_dispatch ON jobs (account, tbox_type, arch, stage, deps_pending, priority DESC, id);
CREATE INDEX jobs_stage ON jobs (stage, account);
CREATE INDEX jobs_assigned ON jobs (assigned, stage);
CREATE INDEX jobs_deadline ON jobs (deadline) WHERE deadline IS NOT NULL;
CREATE INDEX jobs_suite ON jobs (suite, id);

CREATE TABLE events (
  id      BIGSERIAL PRIMARY KEY,
  job_id  BIGINT  NOT NULL REFERENCES jobs (id),
  time    BIGINT  NOT NULL,
  kind    TEXT    NOT NULL,
  detail  TEXT
);
CREATE INDEX events_job ON events (job_id, id);

CREATE TABLE testboxes (
  hostname       TEXT PRIMARY KEY,
  type           TEXT    NOT NULL,
  arch           TEXT    NOT NULL,
  max_memory     DOUBLE PRECISION NOT NULL,
  cpus           INTEGER NOT NULL,
  registered_at  BIGINT  NOT NULL,
  last_heartbeat BIGINT  NOT NULL
);

CREATE TABLE accounts (
  name TEXT PRIMARY KEY
);
