// Git, only through execFile with argument arrays. A bare mirror per upstream
// URL under a cache directory; refs resolve to full shas against it, fetching
// when a ref is unknown or a moving ref's answer is older than the fetch
// interval. Before the mirror exists, a branch, tag or HEAD is resolved with
// `git ls-remote` and the mirror is cloned in the background: the first
// submit against a large remote upstream does not wait for a full clone.
// Transports that run commands (ext::) are not allowed.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../errors.ts';
import { Background } from '../util/background.ts';

const run = promisify(execFile);

const GIT_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_TERMINAL_PROMPT: '0',
  GIT_ALLOW_PROTOCOL: 'file:git:http:https:ssh',
  LC_ALL: 'C',
};

export class GitError extends Error {
  readonly stderr: string;
  constructor(message: string, stderr: string) {
    super(message);
    this.name = 'GitError';
    this.stderr = stderr;
  }
}

/** Runs git; rejects with GitError carrying stderr. */
export async function git(args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<string> {
  try {
    const { stdout } = await run('git', args, { cwd: opts.cwd, env: GIT_ENV, timeout: opts.timeoutMs ?? 300_000, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new GitError(`git ${args[0]} failed: ${(e.stderr || e.message).trim().split('\n').slice(-3).join(' | ')}`, e.stderr ?? '');
  }
}

/**
 * A git failure as a user sees it: what could not be done, never what the
 * remote answered (a job could name an internal URL and read the answer in
 * the error). git's own words stay on the error's cause, for the server's log.
 */
function unreachable(what: 'clone' | 'fetch' | 'reach', url: string, err: unknown): UserError {
  const e = new UserError('upstream_unreachable', `cannot ${what} ${url}: it did not answer as a git repository this lab can read`);
  (e as { cause?: unknown }).cause = err;
  return e;
}

export const FULL_SHA = /^[0-9a-f]{40}$/;
const SHORT_SHA = /^[0-9a-f]{4,39}$/;

/**
 * A ref as a user may write it (v5.10, master, a sha, v1.1~5, HEAD^2): no
 * option-like string, whitespace, range or path syntax reaches git.
 */
function checkRef(ref: string): void {
  if (ref === '' || ref.startsWith('-') || /[\s\0:?*[\\]|\.\.|@\{/.test(ref) || ref.length > 200) {
    throw new UserError('bad_ref', `${JSON.stringify(ref)} is not a valid git ref`);
  }
}

function checkUrl(url: string): void {
  if (url === '' || url.startsWith('-') || /^ext::|^fd::/i.test(url) || /[\0\n]/.test(url)) {
    throw new UserError('bad_url', `${JSON.stringify(url)} is not an allowed upstream url`);
  }
}

export const mirrorName = (url: string) => createHash('sha256').update(url).digest('hex').slice(0, 16) + '.git';

export interface ResolverOptions {
  /** A branch or tag answer older than this is refreshed with a fetch (ms). */
  fetchInterval?: number;
  /** Where a URL is fetched from (the lab's url_rewrites); the mirror stays named by the URL as written. */
  fetchUrl?: (url: string) => string;
}

export class GitResolver {
  readonly dir: string;
  readonly #fetchInterval: number;
  readonly #fetchUrl: (url: string) => string;
  readonly #background = new Background();
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #lastFetch = new Map<string, number>();
  readonly #refs = new Map<string, { sha: string; at: number }>();
  readonly #known = new Set<string>();

  constructor(dir: string, opts: ResolverOptions = {}) {
    this.dir = dir;
    this.#fetchInterval = opts.fetchInterval ?? 60_000;
    this.#fetchUrl = opts.fetchUrl ?? ((u) => u);
  }

  /** The URL git fetches `url` from. */
  fetchUrl(url: string): string {
    return this.#fetchUrl(url);
  }

  /** Whether the mirror of `url` exists here yet. */
  hasMirror(url: string): boolean {
    return existsSync(this.mirror(url));
  }

  /** Clones the mirror in the background (once); later resolutions and bisects use it. */
  prefetch(url: string): void {
    if (this.hasMirror(url) || this.#locks.has(url)) return;
    this.#background.add(this.#ensureMirror(url).catch(() => {}));
  }

  /** The mirror of `url`, cloned now if it is not here yet (what needs the history: rev-list, show). */
  ready(url: string): Promise<string> {
    checkUrl(url);
    return this.#ensureMirror(url);
  }

  /** Waits for background clones (a server stopping, a test cleaning up). */
  async settle(): Promise<void> {
    await this.#background.settle();
  }

  mirror(url: string): string {
    return join(this.dir, mirrorName(url));
  }

  /** Serialises clone/fetch per URL within this process (git locks across processes). */
  #locked<T>(url: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(url) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    this.#locks.set(url, next.catch(() => {}));
    return next;
  }

  async #ensureMirror(url: string): Promise<string> {
    const path = this.mirror(url);
    if (existsSync(path)) return path;
    return this.#locked(url, async () => {
      if (existsSync(path)) return path;
      await mkdir(this.dir, { recursive: true });
      const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
      try {
        await git(['clone', '--mirror', '--quiet', '--', this.#fetchUrl(url), tmp]);
        await rename(tmp, path).catch(async (err: NodeJS.ErrnoException) => {
          if (!existsSync(path)) throw err; // another server cloned it first: use theirs
          await rm(tmp, { recursive: true, force: true });
        });
      } catch (err) {
        await rm(tmp, { recursive: true, force: true });
        throw unreachable('clone', url, err);
      }
      this.#lastFetch.set(url, Date.now());
      return path;
    });
  }

  async fetch(url: string): Promise<void> {
    const path = await this.#ensureMirror(url);
    await this.#locked(url, async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          await git(['fetch', '--quiet', '--prune', '--', this.#fetchUrl(url), '+refs/*:refs/*'], { cwd: path });
          break;
        } catch (err) {
          // Servers sharing a data directory may fetch one mirror at once: git's ref locks then refuse one of them.
          if (attempt < 4 && /lock/i.test((err as GitError).stderr ?? '')) {
            await new Promise((r) => setTimeout(r, 100 * attempt));
            continue;
          }
          throw unreachable('fetch', url, err);
        }
      }
      this.#lastFetch.set(url, Date.now());
    });
  }

  async #local(path: string, ref: string): Promise<string | undefined> {
    try {
      const out = await git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], { cwd: path });
      const sha = out.trim();
      return FULL_SHA.test(sha) ? sha : undefined;
    } catch {
      return undefined;
    }
  }

  /** The sha a branch, tag or HEAD names on the remote (a tag peeled to its commit), or undefined. */
  async #remote(url: string, ref: string): Promise<string | undefined> {
    const names = ref === 'HEAD' ? ['HEAD'] : [`refs/tags/${ref}^{}`, `refs/tags/${ref}`, `refs/heads/${ref}`, ref.startsWith('refs/') ? ref : ''].filter(Boolean);
    let out: string;
    try {
      out = await git(['ls-remote', '--', this.#fetchUrl(url), ...(ref === 'HEAD' ? ['HEAD'] : [ref, `${ref}^{}`])], { timeoutMs: 60_000 });
    } catch (err) {
      throw unreachable('reach', url, err);
    }
    const refs = new Map<string, string>();
    for (const line of out.split('\n')) {
      const [sha, name] = line.split('\t');
      if (sha && name && FULL_SHA.test(sha)) refs.set(name, sha);
    }
    for (const n of names) if (refs.has(n)) return refs.get(n);
    return undefined;
  }

  /** A tag, branch, short or full sha (default HEAD) → the full sha, or a UserError naming the ref. */
  async resolve(url: string, ref = 'HEAD'): Promise<string> {
    checkUrl(url);
    checkRef(ref);
    const key = `${url}\0${ref}`;
    const now = Date.now();
    if (FULL_SHA.test(ref) && this.#known.has(key)) return ref;
    const cached = this.#refs.get(key);
    const immutable = FULL_SHA.test(ref) || SHORT_SHA.test(ref);
    if (cached && (immutable || now - cached.at < this.#fetchInterval)) return cached.sha;

    if (!this.hasMirror(url) && !immutable && !/[~^]/.test(ref)) {
      // A name the upstream can answer for itself: no clone before the answer.
      const sha = await this.#remote(url, ref);
      this.prefetch(url);
      if (!sha) throw new UserError('unknown_ref', `${ref} is not a branch, tag or HEAD of ${url}`);
      this.#refs.set(key, { sha, at: Date.now() });
      return sha;
    }
    const path = await this.#ensureMirror(url);
    const stale = now - (this.#lastFetch.get(url) ?? 0) >= this.#fetchInterval;
    let sha = immutable || !stale ? await this.#local(path, ref) : undefined;
    if (!sha) {
      await this.fetch(url);
      sha = await this.#local(path, ref);
    }
    if (!sha) throw new UserError('unknown_ref', `${ref} is not a commit of ${url}`);
    if (FULL_SHA.test(ref)) this.#known.add(key);
    else this.#refs.set(key, { sha, at: Date.now() });
    return sha;
  }
}
