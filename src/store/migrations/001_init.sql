-- Jobs, their timeline, testboxes and accounts: the scheduler's memory.
-- Times are epoch milliseconds; JSON documents are TEXT (parsed in the store).
-- Written once for both engines: {{id}}, {{bigint}} and {{real}} become each
-- engine's types when the file is loaded (migrate.ts).

CREATE TABLE jobs (
  id             {{id}},
  account        TEXT    NOT NULL,
  suite          TEXT    NOT NULL,
  testbox        TEXT    NOT NULL,           -- the testbox group the job asked for
  tbox_type      TEXT    NOT NULL,           -- dc | vm | hw, from the group's prefix
  arch           TEXT    NOT NULL,
  os             TEXT    NOT NULL,
  os_version     TEXT    NOT NULL,
  memory_minimum {{real}} NOT NULL,
  priority       INTEGER NOT NULL,
  runtime        INTEGER NOT NULL,
  stage          TEXT    NOT NULL,
  health         TEXT,
  deps_pending   INTEGER NOT NULL DEFAULT 0, -- builds still to wait for
  assigned       TEXT,                       -- hostname of the testbox running it
  deadline       {{bigint}},                 -- when the current stage must be over
  submit_time    {{bigint}} NOT NULL,
  boot_time      {{bigint}},
  running_time   {{bigint}},
  finish_time    {{bigint}},
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
  id      {{id}},
  job_id  {{bigint}} NOT NULL REFERENCES jobs (id),
  time    {{bigint}} NOT NULL,
  kind    TEXT    NOT NULL,
  detail  TEXT
);
CREATE INDEX events_job ON events (job_id, id);

CREATE TABLE testboxes (
  hostname       TEXT PRIMARY KEY,
  type           TEXT    NOT NULL,
  arch           TEXT    NOT NULL,
  max_memory     {{real}} NOT NULL,
  cpus           INTEGER NOT NULL,
  registered_at  {{bigint}} NOT NULL,
  last_heartbeat {{bigint}} NOT NULL
);

-- Accounts that ever submitted; dispatch walks this short list for fairness.
CREATE TABLE accounts (
  name TEXT PRIMARY KEY
);
