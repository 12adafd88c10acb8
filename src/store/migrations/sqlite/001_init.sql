-- Jobs, their timeline, testboxes and accounts: the scheduler's memory.
-- Times are epoch milliseconds; JSON documents are TEXT.

CREATE TABLE jobs (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  account        TEXT    NOT NULL,
  suite          TEXT    NOT NULL,
  testbox        TEXT    NOT NULL,          -- the testbox group the job asked for
  tbox_type      TEXT    NOT NULL,          -- dc | vm | hw, from the group's prefix
  arch           TEXT    NOT NULL,
  os             TEXT    NOT NULL,
  os_version     TEXT    NOT NULL,
  memory_minimum REAL    NOT NULL,
  priority       INTEGER NOT NULL,
  runtime        INTEGER NOT NULL,
  stage          TEXT    NOT NULL,
  health         TEXT,
  deps_pending   INTEGER NOT NULL DEFAULT 0, -- builds still to wait for
  assigned       TEXT,                       -- hostname of the testbox running it
  deadline       INTEGER,                    -- when the current stage must be over
  submit_time    INTEGER NOT NULL,
  boot_time      INTEGER,
  running_time   INTEGER,
  finish_time    INTEGER,
  result_root    TEXT    NOT NULL,
  spec           TEXT    NOT NULL,           -- the job as submitted, defaults applied
  stats          TEXT,
  dep_failure    TEXT
);

-- Dispatch: one seek per account for its best dispatchable job.
CREATE INDEX jobs_dispatch ON jobs (account, tbox_type, arch, stage, deps_pending, priority DESC, id);
-- Active jobs per account and per testbox; the sweeper's deadline scan.
CREATE INDEX jobs_stage ON jobs (stage, account);
CREATE INDEX jobs_assigned ON jobs (assigned, stage);
CREATE INDEX jobs_deadline ON jobs (deadline) WHERE deadline IS NOT NULL;
CREATE INDEX jobs_suite ON jobs (suite, id);

CREATE TABLE events (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id  INTEGER NOT NULL REFERENCES jobs (id),
  time    INTEGER NOT NULL,
  kind    TEXT    NOT NULL,
  detail  TEXT
);
CREATE INDEX events_job ON events (job_id, id);

CREATE TABLE testboxes (
  hostname       TEXT PRIMARY KEY,
  type           TEXT    NOT NULL,
  arch           TEXT    NOT NULL,
  max_memory     REAL    NOT NULL,
  cpus           INTEGER NOT NULL,
  registered_at  INTEGER NOT NULL,
  last_heartbeat INTEGER NOT NULL
);

-- Accounts that ever submitted; dispatch walks this short list for fairness.
CREATE TABLE accounts (
  name TEXT PRIMARY KEY
);
