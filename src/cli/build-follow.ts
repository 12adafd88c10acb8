// While a followed job waits for a build (submit -m, job show -f), the
// build is followed too: its pkgbuild job's timeline, and its build.log as
// it grows under the pkgbuild job's result root, so a kernel build is not
// minutes of silence. A retried build is followed into its next attempt.
import type { ApiClient } from '../api/client.ts';
import type { Build, Job, TimelineEntry } from '../api/contract.ts';
import { ApiError } from '../api/client.ts';
import { eventLine, followJob, isTransient } from './follow.ts';
import { sleep } from '../util/sleep.ts';

/** How many lines of a build log are shown when it first appears, and at most per look. */
export const LOG_TAIL_LINES = 20;
const LOOK_MS = 2000;
const STOP_GRACE_MS = 5000;

export interface BuildWatch {
  /** Stops following (the jobs finished); resolves once every watcher ended. */
  stop(): Promise<void>;
  /** The logs whose lines were printed (not printed again at the end). */
  readonly shown: Set<string>;
  /**
   * Prints a followed job's timeline entry. Its release, or its end, is
   * held (with what follows it) until the builds it waited for have said
   * how they ended, for a few seconds at most: the server releases a job in
   * the build's closing transaction, and the job's own timeline often
   * reaches the terminal before the build's last look does.
   */
  event(jobId: number, e: TimelineEntry): void;
  /** Resolves once every held line is printed. */
  drained(): Promise<void>;
}

/** Entries that come only after the builds a job waits for have ended. */
const AFTER_BUILDS = new Set(['release', 'finish']);

const short = (s: string, n = 12): string => s.slice(0, n);

/** Follows every build the jobs wait on, each once, printing through `say`. */
export function watchBuilds(client: ApiClient, jobIds: number[], say: (line: string) => void): BuildWatch {
  const ctl = new AbortController();
  const pending = new Set(jobIds);
  const shown = new Set<string>();
  /** Each build followed, by key: its follower, which ends when the build has said how it ended. */
  const byKey = new Map<string, Promise<void>>();
  const buildsOf = new Map<number, Promise<void>[]>();
  const held = new Map<number, string[]>();
  const flushes: Promise<void>[] = [];
  const loop = (async () => {
    while (!ctl.signal.aborted && pending.size > 0) {
      for (const id of [...pending]) {
        const j = await client.get<Job>(`/api/jobs/${id}`, undefined, ctl.signal).catch(() => undefined);
        if (!j) continue; // asked again next time round
        pending.delete(id); // a job's builds are fixed at submit (a retry keeps the key): one look is enough
        for (const d of j.deps) {
          if (d.wait !== 'waiting') continue;
          if (!byKey.has(d.build_key)) {
            const ref = d.commit_ref === d.commit ? short(d.commit) : `${d.commit_ref} ${short(d.commit, 8)}`;
            say(`job ${id} waits for build ${d.pkg} ${short(d.build_key)} (${ref}${d.config ? `, config ${d.config}` : ''}): ${d.build_state}`);
            byKey.set(d.build_key, followBuild(client, d.build_key, say, ctl.signal, shown).catch(() => {}));
          }
          buildsOf.set(id, [...(buildsOf.get(id) ?? []), byKey.get(d.build_key)!]);
        }
      }
      await sleep(LOOK_MS, ctl.signal);
    }
  })().catch(() => {});
  return {
    shown,
    event(jobId, e) {
      const line = eventLine(jobId, e);
      const queue = held.get(jobId);
      if (queue) return void queue.push(line);
      const builds = AFTER_BUILDS.has(e.event) ? buildsOf.get(jobId) : undefined;
      if (!builds) return say(line);
      buildsOf.delete(jobId);
      const lines = [line];
      held.set(jobId, lines);
      const grace = new AbortController();
      flushes.push(
        Promise.race([Promise.all(builds), sleep(STOP_GRACE_MS, grace.signal)]).then(() => {
          grace.abort();
          held.delete(jobId);
          for (const l of lines) say(l);
        }),
      );
    },
    async drained() {
      await Promise.all(flushes);
    },
    async stop() {
      // a build ends before the jobs waiting on it: give its last lines (the log's tail, how it ended) a moment
      pending.clear();
      await Promise.race([Promise.all(byKey.values()), sleep(STOP_GRACE_MS)]);
      ctl.abort();
      await loop;
      await Promise.all(byKey.values());
    },
  };
}

/** One build until it ends: each pkgbuild job's timeline and log. */
async function followBuild(client: ApiClient, key: string, say: (line: string) => void, signal: AbortSignal, shown: Set<string>): Promise<void> {
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
    await followPkgbuildJob(client, name, jobId, say, signal, shown);
  }
}

/** A pkgbuild job's events, and its build.log's new lines while it runs. */
async function followPkgbuildJob(client: ApiClient, name: string, jobId: number, say: (line: string) => void, signal: AbortSignal, shown: Set<string>): Promise<void> {
  const job = await client.get<Job>(`/api/jobs/${jobId}`, undefined, signal);
  const log = new LogTail(client, `${job.result_root}/build.log`);
  const print = (lines: string[]) => {
    if (lines.length > 0) shown.add(log.path);
    for (const l of lines) say(l);
  };
  const ended = new AbortController();
  const stop = AbortSignal.any([signal, ended.signal]);
  const tail = (async () => {
    while (!stop.aborted) {
      print(await log.look(false, stop));
      await sleep(LOOK_MS, stop);
    }
  })().catch(() => {});
  await followJob(client, jobId, { signal, say: () => {}, onEvent: (_id, e) => say(`${name}  ${eventLine(jobId, e)}`) }).catch(() => {});
  ended.abort();
  await tail;
  if (!signal.aborted) print(await log.look(true, signal).catch(() => []));
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

/** The last lines of a text file on the server, under a heading; nothing when it is missing or empty. */
export async function fileTail(client: ApiClient, path: string, heading: string, lines = LOG_TAIL_LINES): Promise<string[]> {
  const text = await client.request<string>('GET', path).catch(() => undefined);
  if (typeof text !== 'string' || text.trim() === '') return [];
  const all = text.trimEnd().split('\n');
  const shown = all.slice(-lines);
  return [`${heading}, ${shown.length < all.length ? `its last ${shown.length} of ${all.length} lines` : 'all of it'} (${client.base}${path}):`, ...shown.map((l) => `  | ${l}`)];
}

/** What to read of a job that did not succeed: its output, or (a build it needed failed) the build's log, unless that was shown already. */
export async function failureTail(client: ApiClient, j: Job, shown: ReadonlySet<string> = new Set()): Promise<string[]> {
  const own = await fileTail(client, `${j.result_root}/output`, `job ${j.id} ${j.job_health}: its output`);
  if (own.length > 0 || !j.dep_failure?.log) return own;
  const d = j.dep_failure;
  if (shown.has(d.log!)) return [`job ${j.id} ${j.job_health}: build ${d.pkg} ${short(d.build_key)} ended ${d.health}; its log is above (${client.base}${d.log})`];
  return fileTail(client, d.log!, `job ${j.id} ${j.job_health}: build ${d.pkg} ${short(d.build_key)} ended ${d.health}${d.pkgbuild_job ? ` in job ${d.pkgbuild_job}` : ''}; its log`);
}
