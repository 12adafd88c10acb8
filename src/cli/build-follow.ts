// While a followed job waits for a build (submit -m, job show -f), the
// build is followed too: its pkgbuild job's timeline, and its build.log as
// it grows under the pkgbuild job's result root, so a kernel build is not
// minutes of silence. A retried build is followed into its next attempt.
import type { ApiClient } from '../api/client.ts';
import type { Build, Job } from '../api/contract.ts';
import { ApiError } from '../api/client.ts';
import { eventLine, followJob, isTransient } from './follow.ts';
import { sleep } from '../util/sleep.ts';

/** How many lines of a build log are shown when it first appears, and at most per look. */
export const LOG_TAIL_LINES = 20;
const LOOK_MS = 2000;

export interface BuildWatch {
  /** Stops following (the jobs finished); resolves once every watcher ended. */
  stop(): Promise<void>;
}

const short = (s: string, n = 12): string => s.slice(0, n);

/** Follows every build the jobs wait on, each once, printing through `say`. */
export function watchBuilds(client: ApiClient, jobIds: number[], say: (line: string) => void): BuildWatch {
  const ctl = new AbortController();
  const watched = new Set<string>();
  const running: Promise<void>[] = [];
  const pending = new Set(jobIds);
  const loop = (async () => {
    while (!ctl.signal.aborted && pending.size > 0) {
      for (const id of [...pending]) {
        const j = await client.get<Job>(`/api/jobs/${id}`, undefined, ctl.signal).catch(() => undefined);
        if (!j) continue;
        if (!j.waiting || j.job_stage !== 'submit') pending.delete(id);
        for (const d of j.deps) {
          if (d.wait !== 'waiting' || watched.has(d.build_key)) continue;
          watched.add(d.build_key);
          say(`job ${id} waits for build ${d.pkg} ${short(d.build_key)} (${d.commit_ref}${d.commit_ref !== d.commit ? ` ${short(d.commit, 8)}` : ''}${d.config ? `, config ${d.config}` : ''}): ${d.build_state}`);
          running.push(followBuild(client, d.build_key, say, ctl.signal).catch(() => {}));
        }
      }
      await sleep(LOOK_MS, ctl.signal);
    }
  })().catch(() => {});
  return {
    async stop() {
      ctl.abort();
      await loop;
      await Promise.all(running);
    },
  };
}

/** One build until it ends: each pkgbuild job's timeline and log. */
async function followBuild(client: ApiClient, key: string, say: (line: string) => void, signal: AbortSignal): Promise<void> {
  const followed = new Set<number>();
  while (!signal.aborted) {
    let b: Build;
    try {
      b = await client.get<Build>(`/api/builds/${key}`, undefined, signal);
    } catch (err) {
      if (!isTransient(err)) return;
      await sleep(LOOK_MS, signal);
      continue;
    }
    const name = `build ${b.pkg} ${short(b.key)}`;
    if (b.state === 'succeeded' || b.state === 'failed' || b.state === 'cancelled') {
      say(`${name}: ${b.state}${b.started_at && b.finished_at ? ` (${((Date.parse(b.finished_at) - Date.parse(b.started_at)) / 1000).toFixed(1)} s)` : ''}`);
      return;
    }
    const jobId = b.pkgbuild_job;
    if (jobId === null || followed.has(jobId)) {
      await sleep(LOOK_MS, signal);
      continue;
    }
    followed.add(jobId);
    await followPkgbuildJob(client, name, jobId, say, signal);
  }
}

/** A pkgbuild job's events, and its build.log's new lines while it runs. */
async function followPkgbuildJob(client: ApiClient, name: string, jobId: number, say: (line: string) => void, signal: AbortSignal): Promise<void> {
  const job = await client.get<Job>(`/api/jobs/${jobId}`, undefined, signal);
  const log = new LogTail(client, `${job.result_root}/build.log`);
  let done = false;
  const events = followJob(client, jobId, { signal, say: () => {}, onEvent: (_id, e) => say(`${name}  ${eventLine(jobId, e)}`) }).finally(() => (done = true));
  const tail = (async () => {
    while (!done && !signal.aborted) {
      for (const l of await log.look(false, signal)) say(l);
      await sleep(LOOK_MS, signal);
    }
  })();
  await events.catch(() => {});
  await tail.catch(() => {});
  if (!signal.aborted) for (const l of await log.look(true, signal)) say(l);
}

/** A growing text file on the server, read from where it was last read. */
export class LogTail {
  readonly #client: ApiClient;
  readonly path: string;
  #seen = 0;
  #partial = '';
  #lines = 0;

  constructor(client: ApiClient, path: string) {
    this.#client = client;
    this.path = path;
  }

  /** The lines added since the last look (the last LOG_TAIL_LINES of them, after a note of how many were left out); `end` also gives an unfinished last line. */
  async look(end: boolean, signal?: AbortSignal): Promise<string[]> {
    let size: number;
    try {
      const head = await this.#client.raw('HEAD', this.path, { signal });
      size = Number(head.headers.get('content-length') ?? 0);
    } catch (err) {
      if (err instanceof ApiError || isTransient(err)) return []; // not there yet
      throw err;
    }
    let fresh: string[] = [];
    if (size > this.#seen) {
      const res = await this.#client.raw('GET', this.path, { signal }).catch(() => undefined);
      if (!res) return [];
      const buf = Buffer.from(await res.arrayBuffer());
      const text = this.#partial + buf.subarray(this.#seen).toString('utf8');
      this.#seen = buf.length;
      const parts = text.split('\n');
      this.#partial = parts.pop() ?? '';
      fresh = parts;
    }
    if (end && this.#partial !== '') {
      fresh.push(this.#partial);
      this.#partial = '';
    }
    if (fresh.length === 0) return [];
    const first = this.#lines === 0;
    this.#lines += fresh.length;
    const shown = fresh.slice(-LOG_TAIL_LINES);
    const cut = fresh.length - shown.length;
    return [
      ...(first ? [`  ${this.path}:`] : []),
      ...(cut > 0 ? [`  | … ${cut} line${cut === 1 ? '' : 's'} before`] : []),
      ...shown.map((l) => `  | ${l}`),
    ];
  }
}

/** The last lines of a job's output, for a job that did not succeed; nothing when it has none. */
export async function outputTail(client: ApiClient, j: Job, lines = LOG_TAIL_LINES): Promise<string[]> {
  const path = `${j.result_root}/output`;
  const text = await client.request<string>('GET', path).catch(() => undefined);
  if (typeof text !== 'string' || text.trim() === '') return [];
  const all = text.trimEnd().split('\n');
  const shown = all.slice(-lines);
  return [`job ${j.id} ${j.job_health}: ${shown.length < all.length ? `last ${shown.length} of ${all.length} lines` : 'its output'} (${client.base}${path}):`, ...shown.map((l) => `  | ${l}`)];
}
