// From a job's ss entries to build specs (SPEC §4 steps 1–3): registry entry
// (or _upstream_url), commit → full sha, config and recipe digests, build
// key. Everything here happens before the submit transaction opens, so the
// transaction itself only touches the database.
import { isAbsolute } from 'node:path';
import { UserError } from '../errors.ts';
import type { Lab } from '../lab.ts';
import { buildKey, type BuildInputs } from './build-key.ts';
import { fileSha256, treeSha256 } from './digest.ts';
import type { GitResolver } from './git.ts';
import { snapshotFile, snapshotTree } from './snapshot.ts';

/** Everything the scheduler and the pkgbuild runner need to know of one build. */
export interface BuildSpec extends BuildInputs {
  key: string;
  /** The commit as the job wrote it (tag, branch, sha); `commit` is its full sha. */
  commit_ref: string;
  /** Config name under configs/<pkg>/, or null. */
  config: string | null;
  recipe: string;
  /** Testbox group the pkgbuild job runs on. */
  testbox: string;
}

export interface StackIssue {
  path: string;
  message: string;
}

/** ss keys with a meaning of their own; every other key is a build parameter. */
const RESERVED = new Set(['fork', 'commit', 'config', 'testbox']);
/** Registry fields a job may override with a `_` key. */
const OVERRIDES = new Set(['_upstream_url', '_recipe']);

const REMOTE_URL = /^(https?|git|ssh):\/\/|^[^/\s]+@[^/\s]+:/i;

export interface JobOs {
  os: string;
  os_version: string;
  os_arch: string;
}

export interface StackContext {
  lab: Lab;
  git: GitResolver;
  /** Where recipe and config snapshots are kept (<data>/snapshots). */
  snapshots: string;
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
    upstream = sc.lab.upstream(pkg, fork);
  } catch (err) {
    issues.push({ path: at(entry.fork ? 'fork' : undefined), message: (err as Error).message });
    return undefined;
  }
  let url = upstream?.url;
  const override = entry._upstream_url;
  if (override !== undefined) {
    if (!REMOTE_URL.test(override) && !policy.allow_local_upstreams) {
      issues.push({ path: at('_upstream_url'), message: 'must be an http(s)://, git:// or ssh:// URL (this lab does not allow local paths)' });
      return undefined;
    }
    if (!REMOTE_URL.test(override) && !/^file:\/\//.test(override) && !isAbsolute(override)) {
      issues.push({ path: at('_upstream_url'), message: 'a local upstream must be an absolute path or a file:// URL' });
      return undefined;
    }
    url = override;
  }
  if (!url) {
    issues.push({
      path: entry.fork ? at('fork') : at(),
      message: `unknown package ${pkg}${fork !== pkg ? ` (fork ${fork})` : ''}: no upstreams/${pkg}/${fork}.yaml in the lab and no _upstream_url`,
    });
    return undefined;
  }
  const recipe = entry._recipe ?? upstream?.recipe ?? pkg;
  const recipeDir = sc.lab.recipeDir(recipe);
  if (!recipeDir) {
    issues.push({ path: entry._recipe ? at('_recipe') : at(), message: `no recipe ${recipe} (recipes/${recipe}/PKGBUILD) in the lab` });
    return undefined;
  }
  let configSha: string | null = null;
  const config = entry.config ?? null;
  if (config !== null) {
    try {
      const file = sc.lab.configFile(pkg, config);
      if (!file) {
        issues.push({ path: at('config'), message: `no config ${config} in the lab (configs/${pkg}/${config})` });
        return undefined;
      }
      configSha = fileSha256(file);
      snapshotFile(sc.snapshots, file, configSha);
    } catch (err) {
      issues.push({ path: at('config'), message: (err as Error).message });
      return undefined;
    }
  }
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
  for (const [k, v] of Object.entries(entry)) if (!RESERVED.has(k) && !k.startsWith('_')) params[k] = v;
  const recipeSha = treeSha256(recipeDir);
  snapshotTree(sc.snapshots, recipeDir, recipeSha);
  const inputs: BuildInputs = {
    pkg,
    fork,
    upstream_url: url,
    commit: sha,
    config_sha256: configSha,
    os: job.os,
    os_version: job.os_version,
    os_arch: job.os_arch,
    recipe_sha256: recipeSha,
    params,
    salt: policy.build_salt,
  };
  return { ...inputs, key: buildKey(inputs), commit_ref: commitRef, config, recipe, testbox: entry.testbox ?? policy.build_testbox };
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
