-- Bisections in the lab (SPEC §7): the request, the candidate graph, the
-- engine's log (replayed to resume after a restart) and the probe jobs.

CREATE TABLE bisects (
  id            {{id}},
  state         TEXT    NOT NULL,   -- running | done | failed | cancelled
  pkg           TEXT    NOT NULL,
  criterion     TEXT    NOT NULL,
  request       TEXT    NOT NULL,   -- JSON: good, bad, the job template, options
  upstream_url  TEXT    NOT NULL,
  dag           TEXT    NOT NULL,   -- JSON: the candidates, from git rev-list --parents
  spec          TEXT    NOT NULL,   -- JSON: the engine's spec
  result        TEXT,               -- JSON: the result and the commits it names
  error         TEXT,
  driver        TEXT,               -- the server process driving it now
  lease_until   {{bigint}},            -- until when; another server may take over after
  created_at    {{bigint}} NOT NULL,
  updated_at    {{bigint}} NOT NULL,
  finished_at   {{bigint}}
);
CREATE INDEX bisects_state ON bisects (state);

-- The engine's log, entry by entry: a round it asked for or a run reported.
CREATE TABLE bisect_log (
  bisect_id  {{bigint}} NOT NULL REFERENCES bisects (id),
  seq        INTEGER NOT NULL,
  entry      TEXT    NOT NULL,
  PRIMARY KEY (bisect_id, seq)
);

-- Every job submitted for a probe; `recorded` once its run is in the log.
CREATE TABLE bisect_jobs (
  job_id     {{bigint}} PRIMARY KEY REFERENCES jobs (id),
  bisect_id  {{bigint}} NOT NULL REFERENCES bisects (id),
  sha        TEXT    NOT NULL,
  round      INTEGER NOT NULL,
  recorded   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX bisect_jobs_open ON bisect_jobs (bisect_id, recorded);
