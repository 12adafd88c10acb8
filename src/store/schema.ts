// The database schema as Kysely types: a misspelt column fails to compile.
// Mirrors migrations/<dialect>/*.sql; times are epoch ms, JSON is TEXT.
import type { Generated } from 'kysely';

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
  stage: string;
  health: string | null;
  deps_pending: number;
  assigned: string | null;
  deadline: number | null;
  submit_time: number;
  boot_time: number | null;
  running_time: number | null;
  finish_time: number | null;
  result_root: string;
  spec: string;
  stats: string | null;
  dep_failure: string | null;
  build_key: string | null;
}

export interface EventsTable {
  id: Generated<number>;
  job_id: number;
  time: number;
  kind: string;
  detail: string | null;
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
}

export interface BuildsTable {
  key: string;
  pkg: string;
  fork: string;
  url: string;
  sha: string;
  commit_ref: string;
  config: string | null;
  config_sha256: string | null;
  os: string;
  os_version: string;
  os_arch: string;
  recipe: string;
  recipe_sha256: string;
  params: string;
  testbox: string;
  state: string;
  attempts: number;
  pkgbuild_job: number | null;
  error: string | null;
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
  state: string;
}

export interface AccountsTable {
  name: string;
}

export interface MigrationsTable {
  version: number;
  name: string;
  applied_at: number;
}

export interface BisectsTable {
  id: Generated<number>;
  state: string;
  pkg: string;
  criterion: string;
  request: string;
  upstream_url: string;
  dag: string;
  spec: string;
  result: string | null;
  error: string | null;
  driver: string | null;
  lease_until: number | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

export interface BisectLogTable {
  bisect_id: number;
  seq: number;
  entry: string;
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
  builds: BuildsTable;
  build_files: BuildFilesTable;
  job_deps: JobDepsTable;
  bisects: BisectsTable;
  bisect_log: BisectLogTable;
  bisect_jobs: BisectJobsTable;
  schema_migrations: MigrationsTable;
}
