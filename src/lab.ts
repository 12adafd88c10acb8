// Reads a lab directory (SPEC §3): the lab's policy file lab.yaml and its
// suites. Names from jobs are checked against a strict pattern and every
// path is resolved inside the lab, so a job can never make the server read
// a file outside it.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
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
  /** Whether jobs may name local paths or file:// URLs in _upstream_url. */
  allow_local_upstreams: boolean;
  sweep_interval: number;
  boot_timeout: number;
  running_grace: number;
  post_run_timeout: number;
  /** Directories (relative to the lab) searched for job files' `<<:` includes; default jobs/ when it exists. */
  job_dirs?: string[];
  /** An lkp-tests tree the lab's job files come from (relative to the lab or absolute). */
  lkp_src?: string;
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
  heartbeat_interval: 10,
  testbox_lost_after: 60,
  sweep_interval: 5,
  boot_timeout: 600,
  running_grace: 300,
  post_run_timeout: 1800,
};

const NUMERIC_POLICY = [
  'heartbeat_interval', 'testbox_lost_after', 'sweep_interval', 'boot_timeout', 'running_grace', 'post_run_timeout',
  'failed_build_ttl', 'build_memory', 'build_runtime', 'git_fetch_interval',
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
  upstream(pkg: string, fork: string): Upstream | undefined {
    if (!PKG_NAME.test(pkg) || !PKG_NAME.test(fork)) throw new UserError('bad_name', `bad package or fork name ${pkg}/${fork}`);
    const file = this.resolveInside('upstreams', pkg, `${fork}.yaml`);
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
  if (raw.build_salt !== undefined) policy.build_salt = String(raw.build_salt);
  if (raw.allow_local_upstreams !== undefined) policy.allow_local_upstreams = raw.allow_local_upstreams === true;
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
  if (raw.lkp_src !== undefined) {
    if (typeof raw.lkp_src !== 'string' || raw.lkp_src === '') throw new UserError('bad_lab', `${file}: lkp_src must be a directory`);
    policy.lkp_src = raw.lkp_src;
  }
  return policy;
}
