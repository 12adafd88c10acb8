// The fields stacklab itself reads in a job (every other key is an lkp job
// variable, passed to the suite): names, patterns and what they mean. One
// table feeds the checker (checks.ts) and the published JSON Schema
// (schema.ts). Look fields up with fieldDef: a plain object would answer
// for `constructor` too.

export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const PKG_RE = /^[a-z0-9][a-z0-9._+-]*$/;
export const ENV_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const CONFIG_RE = /^[A-Za-z0-9_][A-Za-z0-9._+-]*(\/[A-Za-z0-9_][A-Za-z0-9._+-]*)*$/;
export const LABEL_KEY_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export type FieldKind = 'name' | 'gib' | 'seconds' | 'size' | 'priority' | 'labels' | 'ss';

export interface FieldDef {
  kind: FieldKind;
  description: string;
  required?: boolean;
}

export const FIELDS: Record<string, FieldDef> = {
  suite: { kind: 'name', required: true, description: 'The suite (test program) to run: suites/<suite>/run in the lab' },
  testbox: { kind: 'name', description: 'Testbox group; its prefix gives the type: dc* (container/process), vm*, else hw. Default: the lab’s default group' },
  os: { kind: 'name', description: 'Operating system, e.g. openeuler (default: the lab’s or the server’s)' },
  os_version: { kind: 'name', description: 'OS version, kept as written (20.10 stays 20.10)' },
  os_arch: { kind: 'name', description: 'Architecture, e.g. aarch64 or x86_64 (default: the server’s)' },
  memory_minimum: { kind: 'gib', description: 'GiB of memory the job needs on its testbox (default 1)' },
  runtime: { kind: 'seconds', description: 'How long the test runs (lkp’s test duration): whole seconds, or a number with a unit s, m, h, d, w or y (300s, 20m, 1h, 10d); the stage deadline derives from it (default 3600 s)' },
  need_memory: { kind: 'size', description: 'lkp’s memory need: a size (8G, 300MB, a plain number of bytes) or a percentage (50%: that many GiB per 100 CPUs of the box); the job needs the larger of this and memory_minimum' },
  priority: { kind: 'priority', description: 'Higher runs first (default 0), -1000..1000' },
  my_account: { kind: 'name', description: 'The account the job belongs to; dispatch is fair across accounts' },
  labels: { kind: 'labels', description: 'Free-form metadata: name → string, number or boolean' },
  ss: { kind: 'ss', description: 'Software stack: ss.<pkg> = build parameters of one package to build before the test' },
};

export const fieldDef = (key: string): FieldDef | undefined => (Object.hasOwn(FIELDS, key) ? FIELDS[key] : undefined);

/** Keys of an ss entry stacklab reads (a near miss of one is a warning: `comit`). */
export const SS_KNOWN = ['fork', 'commit', 'config', 'testbox', 'os', 'os_version', 'os_arch', '_upstream_url', '_upstream_dir', '_pkgbuild_source', '_recipe'];

/** Fields whose scalars are strings, kept exactly as written. */
export const STRING_FIELDS = new Set(['suite', 'testbox', 'os', 'os_version', 'os_arch', 'my_account']);

/** Fields the scheduler sets; a job that submits one is refused (compass-ci trusted `waited` from users). */
export const OWNED_FIELDS = new Set([
  'id', 'job_id', 'job_stage', 'job_health', 'ss_wait_jobs', 'waited', 'deps', 'initrds', 'kernel_uri', 'modules_uri',
  'result_root', 'dep_failure', 'timeline', 'stats', 'submit_time', 'build_key', 'pkgbuild', 'waiting', 'testbox_host', 'wait_reason',
]);

/** Keys of an ss entry with a meaning of their own. */
export const SS_KEYS: Record<string, string> = {
  fork: 'Fork of the package in the lab registry (upstreams/<pkg>/<fork>.yaml); default: the package name',
  commit: 'Tag, branch or sha; default HEAD; resolved to a full sha at submit',
  config: 'Build config: a name under the lab’s configs/<pkg>/, or a path to a file on the submitting machine (absolute, or starting with .), which the CLI uploads with the job; the build key counts its content',
  testbox: 'Testbox group the build runs on (default: the lab’s build testbox group)',
};

export const MAX_NAME = 64;
export const MAX_COMMIT = 200;
