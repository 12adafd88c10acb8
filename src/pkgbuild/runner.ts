// The pkgbuild runner: what a testbox does for a pkgbuild job. A worktree of
// the upstream at the build's sha, the recipe's prepare/build/package run by
// a fixed bash driver with the documented variables (SPEC §3), and
// package()'s tree packed as the artifact (for linux also vmlinuz and
// modules.cgz). The outcome says whom to blame: the recipe (failed) or the
// runner's own side (infra: the scheduler retries those).
import { existsSync } from 'node:fs';
import { appendFile, copyFile, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packDirectory, packEntries, sha256File } from '../artifacts/cgz.ts';
import { writeFile } from 'node:fs/promises';
import { FULL_SHA, git, mirrorName } from '../stack/git.ts';
import { hostArch } from '../config.ts';
import { ProcessRuntime } from '../runtime/process.ts';
import { RESERVED_ENV } from '../jobfile/env.ts';
import type { Runtime } from '../runtime/runtime.ts';

const run = promisify(execFile);
const DRIVER = join(import.meta.dirname, 'driver.sh');
const PARAM = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PKGNAME = /^[a-z0-9][a-z0-9._+-]{0,63}$/;
/** Variables the runner sets; a build parameter may not replace them. */
const RESERVED = new Set(['config', 'commit', 'upstream_url', 'srcdir', 'pkgdir', 'startdir', 'pkgname', 'pkgver', 'os_arch', 'cachedir', 'LANG', 'LC_ALL', 'SHELL']);
/** Names that change how every program or shell starts (the loader's LD_*, bash's, PATH…): never a build parameter. */
const isReserved = (k: string) => RESERVED.has(k) || RESERVED_ENV.test(k);

/**
 * Why `name` cannot be a variable of a build — a build parameter, or one a
 * testbox sets for its builds (`stacklab testbox --build-env`) — or
 * undefined when it can.
 */
export function variableProblem(name: string): string | undefined {
  if (!PARAM.test(name)) return `${JSON.stringify(name)} is not a variable name`;
  if (isReserved(name)) return `${name} is set by the runner or changes how programs start`;
  return undefined;
}

export interface PkgbuildRequest {
  /** The unpacked job.cgz: recipe/ (with PKGBUILD) and, if the build has one, `config`. */
  jobDir: string;
  build: { pkg: string; fork: string; upstream_url: string; commit: string; config: string | null; params: Record<string, string>; build_key: string };
  /** Testbox-wide bare mirrors, one per upstream url. */
  gitCacheDir: string;
  /** The build's os_arch, the recipe's `$os_arch` (default: this host's). */
  osArch?: string;
  /**
   * A testbox-wide directory kept across builds; a recipe gets
   * `$cachedir` = <this>/<pkgname> for what it may reuse (ccache, kept
   * object trees). What it keeps there must never change a build's output.
   */
  cacheDir?: string;
  /**
   * Variables this testbox sets for every build (`--build-env`): for how a
   * recipe keeps `$cachedir` (ccache's size, the kernel's kept trees), so
   * like `$cachedir` never part of a build key. A build parameter of the
   * same name wins: it is in the job and its key.
   */
  buildEnv?: Record<string, string>;
  outDir: string;
  logFile: string;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  runtime?: Runtime;
}

export type ArtifactFile = { name: 'pkg.cgz' | 'vmlinuz' | 'modules.cgz'; file: string; size: number; sha256: string };

export interface PkgbuildOutcome {
  result: 'success' | 'failed' | 'infra' | 'timeout' | 'aborted';
  error?: string;
  pkgname?: string;
  pkgver?: string;
  depends?: string[];
  makedepends?: string[];
  artifacts: ArtifactFile[];
  durationMs: number;
}

class Outcome extends Error {
  readonly result: PkgbuildOutcome['result'];
  constructor(result: PkgbuildOutcome['result'], message: string) {
    super(message);
    this.result = result;
  }
}

/** Clone/fetch of one mirror at a time within this testbox. */
const mirrorLocks = new Map<string, Promise<unknown>>();
function locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const next = (mirrorLocks.get(key) ?? Promise.resolve()).then(fn, fn);
  mirrorLocks.set(key, next.catch(() => {}));
  return next;
}

/** A mirror holding the sha: cloned once, fetched only when the sha is missing. */
async function mirrorWith(cacheDir: string, url: string, sha: string): Promise<string> {
  const mirror = join(cacheDir, mirrorName(url));
  return locked(mirror, async () => {
    const has = () => git(['cat-file', '-e', `${sha}^{commit}`], { cwd: mirror }).then(() => true, () => false);
    try {
      if (!existsSync(mirror)) {
        await mkdir(cacheDir, { recursive: true });
        await git(['clone', '--mirror', '--quiet', '--', url, mirror]);
      } else if (await has()) return mirror;
      else await git(['fetch', '--quiet', '--prune', 'origin'], { cwd: mirror });
    } catch (err) {
      throw new Outcome('infra', `cannot get ${url}: ${(err as Error).message}`);
    }
    if (!(await has())) throw new Outcome('infra', `commit ${sha} is not in ${url}`);
    return mirror;
  });
}

async function recipeInfo(startdir: string, env: Record<string, string>) {
  try {
    const { stdout } = await run('bash', [DRIVER, 'info'], { env: { ...env, startdir }, timeout: 30_000 });
    const [pkgname = '', pkgver = '', depends = '', makedepends = ''] = stdout.split('\0');
    return { pkgname, pkgver, depends: depends.trim().split(/\s+/).filter(Boolean), makedepends: makedepends.trim().split(/\s+/).filter(Boolean) };
  } catch (err) {
    throw new Outcome('failed', `the PKGBUILD cannot be read: ${((err as { stderr?: string }).stderr || (err as Error).message).trim()}`);
  }
}

async function isEmptyDir(dir: string): Promise<boolean> {
  return (await readdir(dir).catch(() => [])).length === 0;
}

async function fileArtifact(name: ArtifactFile['name'], file: string): Promise<ArtifactFile> {
  return { name, file, size: (await stat(file)).size, sha256: await sha256File(file) };
}

export async function runPkgbuild(req: PkgbuildRequest): Promise<PkgbuildOutcome> {
  const started = performance.now();
  const runtime = req.runtime ?? new ProcessRuntime();
  const log = (line: string) => appendFile(req.logFile, `==> ${line}\n`);
  const b = req.build;
  const srcdir = join(req.jobDir, 'src');
  const pkgdir = join(req.jobDir, 'pkg');
  const startdir = join(req.jobDir, 'recipe');
  let mirror: string | undefined;
  let worktree: string | undefined;
  const info: Partial<PkgbuildOutcome> = {};
  try {
    await writeFile(req.logFile, '');
    await log(`stacklab pkgbuild ${b.pkg} (fork ${b.fork}) ${b.commit} config=${b.config ?? '-'} key=${b.build_key}`);
    if (!FULL_SHA.test(b.commit)) throw new Outcome('failed', `commit ${b.commit} is not a full sha`);
    if (!existsSync(join(startdir, 'PKGBUILD'))) throw new Outcome('failed', 'the job carries no recipe/PKGBUILD');
    for (const k of Object.keys(b.params)) {
      if (variableProblem(k)) throw new Outcome('failed', `build parameter ${JSON.stringify(k)} is not allowed (it is not a variable name, or it would replace one the runner sets)`);
    }
    const buildEnv = req.buildEnv ?? {};
    for (const k of Object.keys(buildEnv)) {
      const problem = variableProblem(k);
      if (problem) throw new Outcome('infra', `this testbox's --build-env ${problem}`);
    }
    const base: Record<string, string> = {};
    for (const k of ['PATH', 'HOME', 'LANG', 'TMPDIR']) if (process.env[k]) base[k] = process.env[k]!;
    const fromBox = Object.keys(buildEnv).filter((k) => !(k in b.params));
    if (fromBox.length) await log(`this testbox's build settings (--build-env, not in the build key): ${fromBox.map((k) => `${k}=${buildEnv[k]}`).join(' ')}`);
    Object.assign(info, await recipeInfo(startdir, base));
    if (!PKGNAME.test(info.pkgname ?? '')) throw new Outcome('failed', `pkgname ${JSON.stringify(info.pkgname)} in the PKGBUILD is not a package name`);
    await log(`recipe: pkgname=${info.pkgname} pkgver=${info.pkgver} depends=(${info.depends!.join(' ')}) makedepends=(${info.makedepends!.join(' ')})`);

    await mkdir(srcdir, { recursive: true });
    await mkdir(pkgdir, { recursive: true });
    mirror = await mirrorWith(req.gitCacheDir, b.upstream_url, b.commit);
    worktree = join(srcdir, info.pkgname!);
    try {
      await git(['worktree', 'add', '--detach', '--quiet', worktree, b.commit], { cwd: mirror });
    } catch (err) {
      throw new Outcome('infra', `cannot check out ${b.commit}: ${(err as Error).message}`);
    }
    await log(`checked out ${b.upstream_url} at ${b.commit} into $srcdir/${info.pkgname}`);
    let config = '';
    if (existsSync(join(req.jobDir, 'config'))) {
      config = join(srcdir, 'config');
      await copyFile(join(req.jobDir, 'config'), config);
      await log(`config ${b.config} copied to $srcdir/config`);
    }
    let cachedir = '';
    if (req.cacheDir) {
      cachedir = join(req.cacheDir, info.pkgname!);
      await mkdir(cachedir, { recursive: true });
    }
    const env = { ...base, ...buildEnv, ...b.params, config, commit: b.commit, upstream_url: b.upstream_url, srcdir, pkgdir, startdir, pkgname: info.pkgname!, pkgver: info.pkgver ?? '', os_arch: req.osArch ?? hostArch(), cachedir };
    const deadline = Date.now() + req.timeoutMs;
    for (const fn of ['prepare', 'build', 'package']) {
      await log(`${fn}()`);
      const r = await runtime.run({ command: 'bash', args: [DRIVER, 'run', fn], cwd: srcdir, env, timeoutMs: Math.max(1, deadline - Date.now()), outputFile: req.logFile, appendOutput: true, signal: req.signal });
      if (r.aborted) throw new Outcome('aborted', 'stopped');
      if (r.timedOut) throw new Outcome('timeout', `${fn}() ran past the build's time limit`);
      if (r.exitCode !== 0) throw new Outcome('failed', `${fn}() failed (exit ${r.exitCode ?? r.signal})`);
    }
    if (await isEmptyDir(pkgdir)) throw new Outcome('failed', 'package() installed nothing into $pkgdir');

    await mkdir(req.outDir, { recursive: true });
    const artifacts: ArtifactFile[] = [];
    if (b.pkg === 'linux') {
      const vmlinuz = join(pkgdir, 'boot', 'vmlinuz');
      if (!existsSync(vmlinuz)) throw new Outcome('failed', 'a linux recipe must leave $pkgdir/boot/vmlinuz');
      await copyFile(vmlinuz, join(req.outDir, 'vmlinuz'));
      artifacts.push(await fileArtifact('vmlinuz', join(req.outDir, 'vmlinuz')));
      const modules = join(pkgdir, 'lib', 'modules');
      const modulesFile = join(req.outDir, 'modules.cgz');
      if (existsSync(modules)) await packDirectory(modules, modulesFile, { prefix: 'lib/modules' });
      else await writeFile(modulesFile, await packEntries([]));
      artifacts.push(await fileArtifact('modules.cgz', modulesFile));
    }
    const packed = await packDirectory(pkgdir, join(req.outDir, 'pkg.cgz'));
    artifacts.unshift({ name: 'pkg.cgz', file: join(req.outDir, 'pkg.cgz'), size: packed.size, sha256: packed.sha256 });
    for (const a of artifacts) await log(`artifact ${a.name}: ${a.size} bytes, sha256 ${a.sha256}`);
    return { ...info, result: 'success', artifacts, durationMs: performance.now() - started };
  } catch (err) {
    const o = err instanceof Outcome ? err : new Outcome('infra', (err as Error).message);
    await log(`${o.result}: ${o.message}`).catch(() => {});
    return { ...info, result: o.result, error: o.message, artifacts: [], durationMs: performance.now() - started };
  } finally {
    if (mirror && worktree) await git(['worktree', 'remove', '--force', worktree], { cwd: mirror }).catch(() => {});
    await rm(srcdir, { recursive: true, force: true }).catch(() => {});
  }
}
