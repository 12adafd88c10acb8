-- Accounts and credentials (SPEC §10): an account's token, a testbox's token
-- (issued when it registers with a lab-issued secret), a job's own token
-- (what runs inside a vm guest reports with), the account a bisect belongs
-- to, and submit idempotency keys. Tokens are kept only as their sha256.

ALTER TABLE accounts ADD COLUMN email TEXT;
ALTER TABLE accounts ADD COLUMN token_sha256 TEXT;
ALTER TABLE accounts ADD COLUMN role TEXT NOT NULL DEFAULT 'user';      -- user | admin
ALTER TABLE accounts ADD COLUMN created_at {{bigint}};
ALTER TABLE accounts ADD COLUMN revoked_at {{bigint}};
CREATE UNIQUE INDEX accounts_token ON accounts (token_sha256);

-- Secrets the lab issues to testboxes; a testbox registers with one.
CREATE TABLE testbox_secrets (
  name           TEXT PRIMARY KEY,
  secret_sha256  TEXT NOT NULL UNIQUE,
  created_at     {{bigint}} NOT NULL,
  revoked_at     {{bigint}}
);

ALTER TABLE testboxes ADD COLUMN token_sha256 TEXT;
ALTER TABLE testboxes ADD COLUMN secret_name TEXT;
CREATE UNIQUE INDEX testboxes_token ON testboxes (token_sha256);

ALTER TABLE jobs ADD COLUMN job_token_sha256 TEXT;
ALTER TABLE jobs ADD COLUMN result_bytes {{bigint}} NOT NULL DEFAULT 0;   -- bytes uploaded into its result root (the lab's quota)
CREATE UNIQUE INDEX jobs_token ON jobs (job_token_sha256);

ALTER TABLE bisects ADD COLUMN account TEXT;

-- A submit's answer by its Idempotency-Key: a retried submit gets it again.
CREATE TABLE submit_keys (
  account     TEXT NOT NULL,
  key         TEXT NOT NULL,
  request     TEXT NOT NULL,        -- sha256 of the request body: the same key with another body is refused
  response    TEXT NOT NULL,        -- JSON: the submit's answer
  created_at  {{bigint}} NOT NULL,
  PRIMARY KEY (account, key)
);
