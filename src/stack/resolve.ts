// From a job's ss entries to build specs (SPEC §4 steps 1–3): registry entry
// (or _upstream_url), commit → full sha, config and recipe digests, build
// key. Everything here happens before the submit transaction opens, so the
// transaction itself only touches the database.
//
// An ss entry's keys, as compass-ci gives them meaning: `fork`, `commit`,
// `config` (a name under the lab's configs/<pkg>/, or a file the client
// uploaded with the job), `testbox` (where the build runs), `os`,
// `os_version`, `os_arch` (the OS the build is for; default the job's), and
// `_` keys that override the registry (`_upstream_url`, `_upstream_dir`,
// `_pkgbuild_source`, `_recipe`). Every other key is a build parameter.
import { basename, isAbsolute } from 'node:path';
import { UserError } from '../errors.ts';
import { urlMatches, type Lab } from '../lab.ts';
import { buildKey, type BuildInputs } from './build-key.ts';
import { fileSha256, treeSha256 } from './digest.ts';
import type { GitResolver } from './git.ts';
import { parseRecipeSource, recipeFromSource } from './recipe-source.ts';
import { snapshotFile, snapshotTree } from './snapshot.ts';

/** Everything the scheduler and the pkgbuild runner need to know of one build. */
export interface BuildSpec extends BuildInputs {
  key: string;
  /** The commit as the job wrote it (tag, branch, sha); `commit` is its full sha. */
  commit_ref: string;
  /** The config's name (a lab config, or an uploaded file's base name), or null. */
  config: string | null;
  /** The lab recipe's name, or the `_pkgbuild_source` it came from. */
  recipe: string;
  /** Testbox group the pkgbuild job runs on. */
  testbox: string;
}

export interface StackIssue {
  path: string;
  message: string;
  /** The lab's policy refuses it (an upstream it does not allow): a 403, not a malformed job. */
  forbidden?: boolean;
}

/** ss keys with a meaning of their own; every other key is a build parameter. */
export const SS_RESERVED = new Set(['fork', 'commit', 'config', 'testbox', 'os', 'os_version', 'os_arch']);
/** Registry fields a job may override with a `_` key. */
const OVERRIDES = new Set(['_upstream_url', '_upstream_dir', '_pkgbuild_source', '_recipe']);

const REMOTE_URL = /^(https?|git|ssh):\/\/|^[^/\s]+@[^/\s]+:/i;

export interface JobOs {
  os: string;
  os_version: string;
  os_arch: string;
}

/** A config file the client sent with the job (compass-ci's upload_fields), already stored by content. */
export interface UploadedConfig {
  file_name: string;
  sha256: string;
}

export interface StackContext {
  lab: Lab;
  /** The account submitting (its upstream patterns apply), when the lab has accounts on. */
  account?: string | undefined;
  /** Whether the lab has accounts on: then a URL a job names must match the lab's patterns. */
  accounts?: boolean | undefined;
  git: GitResolver;
  /** Where recipe and config snapshots are kept (<data>/snapshots). */
  snapshots: string;
  /** Configs uploaded with the job, by field path (`ss.linux.config`). */
  uploads?: ReadonlyMap<string, UploadedConfig>;
}

/**
 * Whether the lab lets this job name this git URL: a remote one when it
 * matches the lab's allowed_upstreams or the account's patterns (with
 * accounts off and no patterns, any remote URL); a local path only where
 * the lab allows local upstreams. The server fetches nothing else.
 */
function urlIssue(sc: StackContext, url: string): { message: string; forbidden?: boolean } | undefined {
  if (REMOTE_URL.test(url)) {
    const p = sc.lab.policy;
    const own = sc.account !== undefined && Object.hasOwn(p.account_upstreams, sc.account) ? p.account_upstreams[sc.account]! : [];
    const patterns = [...p.allowed_upstreams, ...own];
    if (!sc.accounts && patterns.length === 0) return undefined;
    if (patterns.some((pat) => urlMatches(url, pat))) return undefined;
    return { forbidden: true, message: `${url} is not an upstream this lab lets ${sc.account ?? 'jobs'} name (lab.yaml allowed_upstreams${sc.account ? `, account_upstreams.${sc.account}` : ''}); packages of the lab's registry need no _upstream_url` };
  }
  if (!sc.lab.policy.allow_local_upstreams) return { forbidden: true, message: 'must be an http(s)://, git:// or ssh:// URL (this lab does not allow local paths)' };
  if (!/^file:\/\//.test(url) && !isAbsolute(url)) return { message: 'a local upstream must be an absolute path or a file:// URL' };
  return undefined;
}

/** Resolves one package; problems are appended to `issues` with their ss path. */
export async function resolvePackage(sc: StackContext, job: JobOs, pkg: string, entry: Record<string, string>, issues: StackIssue[]): Promise<BuildSpec | undefined> {
  const at = (field?: string) => (field ? `ss.${pkg}.${field}` : `ss.${pkg}`);
  const policy = sc.lab.policy;
  const fork = entry.fork ?? pkg;
  for (const k of Object.keys(entry)) {
    if (k.startsWith('_') && !OVERRIDES.has(k)) issues.push({ path: at(k), message: `unknown registry override; use one of ${[...OVERRIDES].join(', ')}` });
  }
  let upstream;
  try {
    upstream = sc.lab.upstream(pkg, fork, entry._upstream_dir ?? 'upstream');
  } catch (err) {
    issues.push({ path: at(entry._upstream_dir !== undefined ? '_upstream_dir' : entry.fork ? 'fork' : undefined), message: (err as Error).message });
    return undefined;
  }
  let url = upstream?.url;
  const override = entry._upstream_url;
  if (override !== undefined) {
    const problem = urlIssue(sc, override);
    if (problem) {
      issues.push({ path: at('_upstream_url'), ...problem });
      return undefined;
    }
    url = override;
  }
  if (!url) {
    const where = `${policy.upstream_dirs[entry._upstream_dir ?? 'upstream']}/${pkg}/${fork}.yaml`;
    issues.push({
      path: entry.fork ? at('fork') : at(),
      message: `unknown package ${pkg}${fork !== pkg ? ` (fork ${fork})` : ''}: no ${where} in the lab and no _upstream_url`,
    });
    return undefined;
  }

  const recipe = await resolveRecipe(sc, pkg, entry, upstream?.recipe, at, issues);
  if (!recipe) return undefined;
  const config = resolveConfig(sc, pkg, entry.config, at, issues);
  if (config === undefined) return undefined;

  const commitRef = entry.commit ?? 'HEAD';
  let sha: string;
  try {
    sha = await sc.git.resolve(url, commitRef);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    issues.push({ path: at('commit'), message: err.code === 'unknown_ref' ? `unknown ref ${commitRef} of package ${pkg} (${url})` : err.message });
    return undefined;
  }
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(entry)) if (!SS_RESERVED.has(k) && !k.startsWith('_')) params[k] = v;
  const inputs: BuildInputs = {
    pkg,
    fork,
    upstream_url: url,
    commit: sha,
    config_sha256: config.sha256,
    // The OS the build is for: the ss entry's, as compass-ci lets it differ from the test's.
    os: entry.os ?? job.os,
    os_version: entry.os_version ?? job.os_version,
    os_arch: entry.os_arch ?? job.os_arch,
    recipe_sha256: recipe.sha256,
    params,
    salt: policy.build_salt,
  };
  return { ...inputs, key: buildKey(inputs), commit_ref: commitRef, config: config.name, recipe: recipe.name, testbox: entry.testbox ?? policy.build_testbox };
}

/** The recipe: `_pkgbuild_source` (a git repository at a ref), `_recipe`, the registry's, or the package's name — snapshotted. */
async function resolveRecipe(
  sc: StackContext,
  pkg: string,
  entry: Record<string, string>,
  registryRecipe: string | undefined,
  at: (f?: string) => string,
  issues: StackIssue[],
): Promise<{ name: string; sha256: string } | undefined> {
  if (entry._pkgbuild_source !== undefined) {
    const src = parseRecipeSource(entry._pkgbuild_source);
    const problem = urlIssue(sc, src.url);
    if (problem) {
      issues.push({ path: at('_pkgbuild_source'), ...problem });
      return undefined;
    }
    try {
      const r = await recipeFromSource(sc.git, sc.snapshots, pkg, src);
      return { name: `${src.url}#${r.sha}`, sha256: r.digest };
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      issues.push({ path: at('_pkgbuild_source'), message: err.message });
      return undefined;
    }
  }
  const name = entry._recipe ?? registryRecipe ?? pkg;
  const dir = sc.lab.recipeDir(name);
  if (!dir) {
    issues.push({ path: entry._recipe ? at('_recipe') : at(), message: `no recipe ${name} (recipes/${name}/PKGBUILD) in the lab` });
    return undefined;
  }
  const sha256 = treeSha256(dir);
  snapshotTree(sc.snapshots, dir, sha256);
  return { name, sha256 };
}

/**
 * The config: a file the client uploaded with the job (by content), a name
 * under the lab's configs/<pkg>/, or — for a path on a machine the file was
 * not uploaded from — the lab's config of that base name, as compass-ci
 * keeps configs by file name. Undefined after an issue.
 */
function resolveConfig(sc: StackContext, pkg: string, value: string | undefined, at: (f?: string) => string, issues: StackIssue[]): { name: string | null; sha256: string | null } | undefined {
  if (value === undefined) return { name: null, sha256: null };
  const uploaded = sc.uploads?.get(at('config'));
  if (uploaded) return { name: uploaded.file_name, sha256: uploaded.sha256 };
  const name = value.includes('/') && (isAbsolute(value) || value.startsWith('.')) ? basename(value) : value;
  try {
    const file = sc.lab.configFile(pkg, name);
    if (!file) {
      const hint = name !== value ? ` (${value} was not uploaded: submit from the machine that has it, or put it in the lab)` : '';
      issues.push({ path: at('config'), message: `no config ${name} in the lab (configs/${pkg}/${name})${hint}` });
      return undefined;
    }
    const sha256 = fileSha256(file);
    snapshotFile(sc.snapshots, file, sha256);
    return { name, sha256 };
  } catch (err) {
    issues.push({ path: at('config'), message: (err as Error).message });
    return undefined;
  }
}

/** All ss packages of a job, in name order. */
export async function resolveStack(sc: StackContext, job: JobOs & { ss?: unknown }, issues: StackIssue[]): Promise<BuildSpec[]> {
  const ss = (job.ss ?? {}) as Record<string, Record<string, string> | null>;
  const specs: BuildSpec[] = [];
  for (const pkg of Object.keys(ss).sort()) {
    const spec = await resolvePackage(sc, job, pkg, ss[pkg] ?? {}, issues);
    if (spec) specs.push(spec);
  }
  return specs;
}
