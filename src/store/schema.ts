// The database schema as Kysely types: a misspelt column fails to compile,
// and a stage, health or state outside its set does too. The DDL is
// migrations/NNN_*.sql (written once for both engines). Times are epoch ms.
// JSON columns are TEXT here; the query modules parse them, so everything
// above store/ sees typed objects (see JobRow, BuildRow, BisectRow).
import type { ColumnType, Generated } from 'kysely';
import type { Health, Stage } from '../model/lifecycle.ts';
import type { BisectStateName, BuildState, DepState } from '../api/contract.ts';

export type { BisectStateName, BuildState, DepState, Health, Stage };

/** A JSON document stored as TEXT: written with JSON.stringify, read and parsed by the query module. */
export type JsonText = ColumnType<string, string, string>;

export interface JobsTable {
  id: Generated<number>;
  account: string;
  suite: string;
  testbox: string;
  tbox_type: string;
  arch: string;
  os: string;
  os_version: string;
  memory_minimum: number;
  priority: number;
  runtime: number;
  stage: Stage;
  health: Health | null;
  deps_pending: number;
  assigned: string | null;
  deadline: number | null;
  submit_time: number;
  boot_time: number | null;
  running_time: number | null;
  finish_time: number | null;
  result_root: string;
  /** JSON: the job as submitted, the lab's defaults applied. */
  spec: JsonText;
  /** JSON: {"suite.key": number}. */
  stats: JsonText | null;
  /** JSON: the DepFailure of a dependency_failed job. */
  dep_failure: JsonText | null;
  build_key: string | null;
  /** sha256 of the job's own token (what a vm guest reports with), while a testbox holds it. */
  job_token_sha256: string | null;
  /** Bytes uploaded into its result root so far. */
  result_bytes: Generated<number>;
  /** Only this testbox may take the job (a lab bisect spreading a commit's samples); null: any of its type and arch. */
  pinned_host: string | null;
  /** 1: a health-check job (pinned), the one kind a testbox out of dispatch may take; passing, it brings the box back. */
  health_check: Generated<number>;
}

export interface EventsTable {
  id: Generated<number>;
  job_id: number;
  time: number;
  kind: string;
  /** JSON: the event's details. */
  detail: JsonText | null;
}

export interface TestboxesTable {
  hostname: string;
  type: string;
  arch: string;
  max_memory: number;
  cpus: number;
  registered_at: number;
  last_heartbeat: number;
  mac: string | null;
  /** sha256 of the token issued at registration (accounts on). */
  token_sha256: string | null;
  /** The lab-issued secret it registered with. */
  secret_name: string | null;
  /** Infrastructure failures in a row attributed to the box (010). */
  infra_failures: Generated<number>;
  /** Why the box was taken out of dispatch; null while it takes jobs (010). */
  disabled_reason: string | null;
  disabled_at: number | null;
  /** Its --build-env settings as JSON, null for none (013). */
  build_env: string | null;
}

export interface BuildsTable {
  key: string;
  pkg: string;
  fork: string;
  upstream_url: string;
  /** Full sha. */
  commit: string;
  /** The commit as first written (tag, branch, sha). */
  commit_ref: string;
  config: string | null;
  config_sha256: string | null;
  os: string;
  os_version: string;
  os_arch: string;
  recipe: string;
  recipe_sha256: string;
  /** JSON: build parameters, name → string. */
  params: JsonText;
  testbox: string;
  state: BuildState;
  attempts: number;
  pkgbuild_job: number | null;
  /** JSON: the DepFailure that ended it. */
  error: JsonText | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export interface BuildFilesTable {
  build_key: string;
  name: string;
  path: string;
  size: number;
  sha256: string;
  job_id: number;
}

export interface JobDepsTable {
  job_id: number;
  build_key: string;
  pkg: string;
  state: DepState;
}

export interface AccountsTable {
  name: string;
  email: string | null;
  /** sha256 (hex) of the account's token; null for an account that only ever submitted (no login). */
  token_sha256: string | null;
  role: Generated<'user' | 'admin'>;
  created_at: number | null;
  revoked_at: number | null;
}

export interface TestboxSecretsTable {
  name: string;
  secret_sha256: string;
  created_at: number;
  revoked_at: number | null;
}

export interface SubmitKeysTable {
  account: string;
  key: string;
  request: string;
  /** JSON: the submit's answer. */
  response: JsonText;
  created_at: number;
}

export interface MigrationsTable {
  version: number;
  name: string;
  applied_at: number;
}

export interface BisectsTable {
  id: Generated<number>;
  state: BisectStateName;
  pkg: string;
  criterion: string;
  /** JSON: the stored request (refs resolved, the job template). */
  request: JsonText;
  upstream_url: string;
  /** JSON: the candidate graph. */
  dag: JsonText;
  /** JSON: the engine's spec. */
  spec: JsonText;
  /** JSON: the result and the commits it names. */
  result: JsonText | null;
  error: string | null;
  driver: string | null;
  lease_until: number | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  account: string | null;
}

export interface BisectLogTable {
  bisect_id: number;
  seq: number;
  /** JSON: one engine log entry. */
  entry: JsonText;
}

export interface BisectJobsTable {
  job_id: number;
  bisect_id: number;
  sha: string;
  round: number;
  recorded: number;
}

export interface Database {
  jobs: JobsTable;
  events: EventsTable;
  testboxes: TestboxesTable;
  accounts: AccountsTable;
  testbox_secrets: TestboxSecretsTable;
  submit_keys: SubmitKeysTable;
  builds: BuildsTable;
  build_files: BuildFilesTable;
  job_deps: JobDepsTable;
  bisects: BisectsTable;
  bisect_log: BisectLogTable;
  bisect_jobs: BisectJobsTable;
  schema_migrations: MigrationsTable;
}
