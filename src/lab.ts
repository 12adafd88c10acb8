// Reads a lab directory (SPEC §3): the lab's policy file lab.yaml and its
// suites. Names from jobs are checked against a strict pattern and every
// path is resolved inside the lab, so a job can never make the server read
// a file outside it.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { UserError } from './errors.ts';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The lab's own policy (lab.yaml); every field optional, times in seconds. */
export interface LabPolicy {
  /** Testbox group for jobs that name none. */
  default_testbox: string;
  /** Defaults for jobs that name no os / version (else the server host's). */
  os?: string;
  os_version?: string;
  heartbeat_interval: number;
  testbox_lost_after: number;
  /** Testbox group pkgbuild jobs run on unless an ss entry names one. */
  build_testbox: string;
  /** Part of every build key; change it to rebuild everything. */
  build_salt: string;
  /** Infrastructure failures of a build retried before it counts as failed. */
  build_retries: number;
  /** Seconds a failed build is remembered; a submit after that builds again. */
  failed_build_ttl: number;
  /** GiB and seconds a pkgbuild job asks for. */
  build_memory: number;
  build_runtime: number;
  /** Seconds a resolved branch or tag is trusted before the upstream is fetched again. */
  git_fetch_interval: number;
  /** Whether jobs may name local paths or file:// URLs in _upstream_url (and _pkgbuild_source). */
  allow_local_upstreams: boolean;
  /**
   * Where git URLs are fetched from, as git's `url.<base>.insteadOf`: a URL
   * starting with a key is fetched from the value plus the rest. The URL as
   * written stays the build's identity (its key); only the fetch moves (a
   * mirror near the lab, a local copy for tests).
   */
  url_rewrites: Record<string, string>;
  /**
   * compass-ci's `_upstream_dir`: the registries an ss entry may pick its
   * package from, name → directory of the lab. `upstream` (the default) is
   * `upstreams/`.
   */
  upstream_dirs: Record<string, string>;
  /** Accounts and tokens on (always on when the server listens beyond loopback). */
  accounts: boolean;
  /**
   * URL patterns (`*` matches anything) any job may name in `_upstream_url`
   * or `_pkgbuild_source`. The lab's own registry URLs are always allowed.
   * Without accounts and without this list, any remote URL is allowed.
   */
  allowed_upstreams: string[];
  /** More patterns per account. */
  account_upstreams: Record<string, string[]>;
  /** Bytes a job may upload into its result root (a quota; default 1 GiB). */
  max_result_bytes: number;
  /**
   * Packages whose recipe cross-compiles: pkg → target arch → the arch of
   * the testboxes that build it (`linux: {aarch64: x86_64}` builds arm64
   * kernels on x86_64 boxes). Other builds run on boxes of their own arch.
   */
  cross_builds: Record<string, Record<string, string>>;
  sweep_interval: number;
  boot_timeout: number;
  running_grace: number;
  post_run_timeout: number;
  /**
   * Seconds a dispatchable job may wait while no registered testbox could
   * ever take it (no box of its type and arch with the memory); then it
   * finishes `unrunnable`. Jobs waiting on builds or on busy boxes wait on.
   */
  queue_timeout: number;
  /** Infrastructure failures in a row after which a testbox leaves dispatch until `testbox enable`; 0: never. */
  testbox_max_infra_failures: number;
  /** Directories (relative to the lab) searched for job files' `<<:` includes; default jobs/ when it exists. */
  job_dirs?: string[];
  /** An lkp-tests tree the lab's job files come from (relative to the lab or absolute). */
  lkp_src?: string;
  /**
   * A job file inside the lab (one job): the health check the sweeper
   * queues on every testbox that leaves dispatch, once per time it leaves;
   * when it passes there, the box is back in.
   */
  health_check?: string;
}

export const DEFAULT_POLICY: LabPolicy = {
  default_testbox: 'dc',
  build_testbox: 'dc',
  build_salt: '',
  build_retries: 2,
  failed_build_ttl: 3600,
  build_memory: 1,
  build_runtime: 3600,
  git_fetch_interval: 60,
  allow_local_upstreams: false,
  url_rewrites: {},
  upstream_dirs: { upstream: 'upstreams' },
  accounts: false,
  allowed_upstreams: [],
  account_upstreams: {},
  max_result_bytes: 1024 ** 3,
  cross_builds: {},
  heartbeat_interval: 10,
  testbox_lost_after: 60,
  sweep_interval: 5,
  boot_timeout: 600,
  running_grace: 300,
  post_run_timeout: 1800,
  queue_timeout: 3600,
  testbox_max_infra_failures: 3,
};

const NUMERIC_POLICY = [
  'heartbeat_interval', 'testbox_lost_after', 'sweep_interval', 'boot_timeout', 'running_grace', 'post_run_timeout',
  'failed_build_ttl', 'build_memory', 'build_runtime', 'git_fetch_interval', 'max_result_bytes', 'queue_timeout',
] as const;

/** A package or fork name: safe as a path component and in URLs. */
export const PKG_NAME = /^[a-z0-9][a-z0-9._+-]{0,63}$/;
/** A config name: relative, no '..', no hidden parts. */
export const CONFIG_NAME = /^[A-Za-z0-9_][A-Za-z0-9._+-]*(\/[A-Za-z0-9_][A-Za-z0-9._+-]*)*$/;

/** An upstream registry entry (upstreams/<pkg>/<fork>.yaml). */
export interface Upstream {
  url: string;
  recipe: string;
}

export interface SuiteFile {
  /** Path relative to the suite directory. */
  name: string;
  data: Buffer;
  mode: number;
}

/** How long a lookup in the lab directory is trusted: edits to the lab are seen within this. */
const LAB_CACHE_MS = 1000;

export class Lab {
  readonly dir: string;
  readonly policy: LabPolicy;
  readonly #cache = new Map<string, { at: number; value: unknown }>();

  /** A lookup remembered for LAB_CACHE_MS: a submit touches the lab several times per job. */
  #memo<T>(key: string, fn: () => T): T {
    const now = Date.now();
    const hit = this.#cache.get(key);
    if (hit && now - hit.at < LAB_CACHE_MS) return hit.value as T;
    const value = fn();
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(key, { at: now, value });
    return value;
  }

  constructor(dir: string) {
    this.dir = resolve(dir);
    if (!existsSync(this.dir) || !statSync(this.dir).isDirectory()) {
      throw new UserError('bad_lab', `lab directory ${this.dir} does not exist`);
    }
    this.policy = readPolicy(join(this.dir, 'lab.yaml'));
  }

  /** A path inside the lab, or a refusal: names from users never leave it. */
  resolveInside(...parts: string[]): string {
    const full = resolve(this.dir, ...parts);
    const rel = relative(this.dir, full);
    if (rel === '' || rel.startsWith('..') || rel.split(sep).includes('..') || resolve(this.dir, rel) !== full) {
      throw new UserError('bad_path', `path ${parts.join('/')} is outside the lab`);
    }
    return full;
  }

  hasSuite(suite: string): boolean {
    if (!NAME.test(suite)) return false;
    return this.#memo(`suite:${suite}`, () => {
      const run = join(this.dir, 'suites', suite, 'run');
      return existsSync(run) && statSync(run).isFile();
    });
  }

  /** Where job files of this lab find their includes, and the lkp tree they follow (SPEC §2). */
  jobSearch(): { searchPath: string[]; lkpSrc?: string } {
    const dirs = this.policy.job_dirs ?? (existsSync(join(this.dir, 'jobs')) ? ['jobs'] : []);
    const lkpSrc = this.policy.lkp_src === undefined ? undefined : resolve(this.dir, this.policy.lkp_src);
    return { searchPath: dirs.map((d) => resolve(this.dir, d)), ...(lkpSrc ? { lkpSrc } : {}) };
  }

  suites(): string[] {
    const dir = join(this.dir, 'suites');
    if (!existsSync(dir)) return [];
    return readdirSync(dir).filter((s) => this.hasSuite(s)).sort();
  }

  /**
   * The registry entry of a package's fork, or undefined if there is none.
   * A relative url is a path relative to the lab directory.
   */
  upstream(pkg: string, fork: string, upstreamDir = 'upstream'): Upstream | undefined {
    if (!PKG_NAME.test(pkg) || !PKG_NAME.test(fork)) throw new UserError('bad_name', `bad package or fork name ${pkg}/${fork}`);
    const registry = Object.hasOwn(this.policy.upstream_dirs, upstreamDir) ? this.policy.upstream_dirs[upstreamDir] : undefined;
    if (registry === undefined) {
      throw new UserError('bad_name', `no upstream dir ${JSON.stringify(upstreamDir)} in this lab (lab.yaml upstream_dirs: ${Object.keys(this.policy.upstream_dirs).join(', ')})`);
    }
    const file = this.resolveInside(...registry.split('/'), pkg, `${fork}.yaml`);
    return this.#memo(`upstream:${file}`, () => this.#readUpstream(file, pkg));
  }

  #readUpstream(file: string, pkg: string): Upstream | undefined {
    if (!existsSync(file)) return undefined;
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new UserError('bad_lab', `${file}: ${(err as Error).message}`);
    }
    const entry = (doc ?? {}) as Record<string, unknown>;
    if (typeof entry.url !== 'string' || entry.url === '') throw new UserError('bad_lab', `${file}: url is missing`);
    const recipe = entry.recipe === undefined ? pkg : String(entry.recipe);
    return { url: this.localUrl(entry.url), recipe };
  }

  /** The URL git fetches `url` from: the lab's longest matching rewrite applied (git's insteadOf). */
  fetchUrl(url: string): string {
    let best = '';
    for (const prefix of Object.keys(this.policy.url_rewrites)) if (url.startsWith(prefix) && prefix.length > best.length) best = prefix;
    return best ? this.localUrl(this.policy.url_rewrites[best]! + url.slice(best.length)) : url;
  }

  /** Registry urls without a scheme are paths relative to the lab. */
  localUrl(url: string): string {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) || /^[^/]+@[^/]+:/.test(url) || url.startsWith('/')) return url;
    return resolve(this.dir, url);
  }

  /** The directory of a recipe, holding its PKGBUILD; undefined if there is no such recipe. */
  recipeDir(name: string): string | undefined {
    if (!PKG_NAME.test(name)) return undefined;
    const dir = this.resolveInside('recipes', name);
    return this.#memo(`recipe:${dir}`, () => (existsSync(join(dir, 'PKGBUILD')) ? dir : undefined));
  }

  /** A build config file: configs/<pkg>/<name>, always inside the lab. */
  configFile(pkg: string, name: string): string | undefined {
    if (!PKG_NAME.test(pkg) || !CONFIG_NAME.test(name)) throw new UserError('bad_path', `config ${JSON.stringify(name)} must be a relative name under configs/${pkg}/`);
    const file = this.resolveInside('configs', pkg, ...name.split('/'));
    return this.#memo(`config:${file}`, () => (existsSync(file) && statSync(file).isFile() ? file : undefined));
  }

  /** Every file of a suite (run, parse, helpers), to pack into the job's job.cgz. */
  suiteFiles(suite: string): SuiteFile[] {
    if (!this.hasSuite(suite)) throw new UserError('unknown_suite', `suite ${suite} is not in the lab (${join(this.dir, 'suites')})`);
    const root = this.resolveInside('suites', suite);
    const out: SuiteFile[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.isFile()) out.push({ name: relative(root, full), data: readFileSync(full), mode: statSync(full).mode & 0o777 });
      }
    };
    walk(root);
    return out;
  }
}

function patterns(file: string, key: string, v: unknown): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === '')) throw new UserError('bad_lab', `${file}: ${key} must be a list of URL patterns`);
  return v as string[];
}

/** A URL pattern of lab.yaml: `*` matches any run of characters, the rest is literal, the whole URL must match. */
export function urlMatches(url: string, pattern: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(url);
}

function stringMap(file: string, key: string, v: unknown): Record<string, string> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new UserError('bad_lab', `${file}: ${key} must be a mapping of strings`);
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string' || x === '') throw new UserError('bad_lab', `${file}: ${key}.${k} must be a string`);
    out[k] = x;
  }
  return out;
}

function readPolicy(file: string): LabPolicy {
  if (!existsSync(file)) return { ...DEFAULT_POLICY };
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserError('bad_lab', `${file}: ${(err as Error).message}`);
  }
  if (doc == null) return { ...DEFAULT_POLICY };
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new UserError('bad_lab', `${file}: expected a mapping`);
  const policy: LabPolicy = { ...DEFAULT_POLICY };
  const raw = doc as Record<string, unknown>;
  for (const key of NUMERIC_POLICY) {
    if (raw[key] === undefined) continue;
    const v = raw[key];
    if (typeof v !== 'number' || !(v > 0)) throw new UserError('bad_lab', `${file}: ${key} must be a positive number of seconds`);
    policy[key] = v;
  }
  if (raw.build_retries !== undefined) {
    if (!Number.isInteger(raw.build_retries) || (raw.build_retries as number) < 0) throw new UserError('bad_lab', `${file}: build_retries must be a whole number`);
    policy.build_retries = raw.build_retries as number;
  }
  if (raw.testbox_max_infra_failures !== undefined) {
    if (!Number.isInteger(raw.testbox_max_infra_failures) || (raw.testbox_max_infra_failures as number) < 0) throw new UserError('bad_lab', `${file}: testbox_max_infra_failures must be a whole number (0: never take a box out)`);
    policy.testbox_max_infra_failures = raw.testbox_max_infra_failures as number;
  }
  if (raw.build_salt !== undefined) policy.build_salt = String(raw.build_salt);
  if (raw.allow_local_upstreams !== undefined) policy.allow_local_upstreams = raw.allow_local_upstreams === true;
  if (raw.accounts !== undefined) policy.accounts = raw.accounts === true;
  if (raw.allowed_upstreams !== undefined) policy.allowed_upstreams = patterns(file, 'allowed_upstreams', raw.allowed_upstreams);
  if (raw.account_upstreams !== undefined) {
    if (!raw.account_upstreams || typeof raw.account_upstreams !== 'object' || Array.isArray(raw.account_upstreams)) throw new UserError('bad_lab', `${file}: account_upstreams must map accounts to lists of URL patterns`);
    const out: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
    for (const [a, v] of Object.entries(raw.account_upstreams)) out[a] = patterns(file, `account_upstreams.${a}`, v);
    policy.account_upstreams = out;
  }
  if (raw.cross_builds !== undefined) {
    if (!raw.cross_builds || typeof raw.cross_builds !== 'object' || Array.isArray(raw.cross_builds)) throw new UserError('bad_lab', `${file}: cross_builds must map packages to {target arch: build arch}`);
    const out: Record<string, Record<string, string>> = Object.create(null) as Record<string, Record<string, string>>;
    for (const [pkg, v] of Object.entries(raw.cross_builds)) out[pkg] = stringMap(file, `cross_builds.${pkg}`, v);
    policy.cross_builds = out;
  }
  if (raw.url_rewrites !== undefined) policy.url_rewrites = stringMap(file, 'url_rewrites', raw.url_rewrites);
  if (raw.upstream_dirs !== undefined) {
    const dirs = stringMap(file, 'upstream_dirs', raw.upstream_dirs);
    for (const [name, dir] of Object.entries(dirs)) {
      if (!NAME.test(name) || !CONFIG_NAME.test(dir)) throw new UserError('bad_lab', `${file}: upstream_dirs.${name} must name a directory inside the lab`);
    }
    policy.upstream_dirs = { upstream: 'upstreams', ...dirs };
  }
  for (const key of ['default_testbox', 'build_testbox', 'os', 'os_version'] as const) {
    if (raw[key] === undefined) continue;
    const v = raw[key];
    if ((typeof v !== 'string' && typeof v !== 'number') || !NAME.test(String(v))) throw new UserError('bad_lab', `${file}: ${key} must be a name`);
    policy[key] = String(v);
  }
  if (raw.job_dirs !== undefined) {
    const dirs = Array.isArray(raw.job_dirs) ? raw.job_dirs : [raw.job_dirs];
    if (!dirs.every((d) => typeof d === 'string' && d !== '')) throw new UserError('bad_lab', `${file}: job_dirs must be a list of directories`);
    policy.job_dirs = dirs as string[];
  }
  if (raw.health_check !== undefined) {
    if (typeof raw.health_check !== 'string' || raw.health_check === '' || isAbsolute(raw.health_check) || raw.health_check.split(/[\\/]/).includes('..')) {
      throw new UserError('bad_lab', `${file}: health_check must be a job file inside the lab (a path relative to it, e.g. jobs/health.yaml)`);
    }
    policy.health_check = raw.health_check;
  }
  if (raw.lkp_src !== undefined) {
    if (typeof raw.lkp_src !== 'string' || raw.lkp_src === '') throw new UserError('bad_lab', `${file}: lkp_src must be a directory`);
    policy.lkp_src = raw.lkp_src;
  }
  return policy;
}
