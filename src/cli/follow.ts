// Following jobs live: long-polls each job's timeline until it finishes,
// handing every new entry to a callback (submit -m, job wait, job show -f,
// demo). A server that stops answering (a restart) is waited for, with a
// line saying so, rather than ending the follow.
import { ServerError, UnreachableError, type ApiClient } from '../api/client.ts';
import type { EventsPage, Job, TimelineEntry } from '../api/contract.ts';
import { FailureError } from '../errors.ts';
import { backoff, sleep } from '../util/sleep.ts';

export interface FollowOptions {
  onEvent?: (jobId: number, entry: TimelineEntry) => void;
  /** Give up after this many ms (FailureError). */
  timeoutMs?: number | undefined;
  /** How long a server may stay unreachable before the follow gives up (default 15 min, or the timeout). */
  patienceMs?: number | undefined;
  /** Where "server unreachable, retrying" lines go (default stderr). */
  say?: ((line: string) => void) | undefined;
  /** Stops the follow (an AbortError). */
  signal?: AbortSignal | undefined;
}

const DEFAULT_PATIENCE_MS = 15 * 60_000;

/** An error a later try may not have: no answer at all, or a 5xx. */
export const isTransient = (err: unknown): boolean => err instanceof UnreachableError || err instanceof ServerError;

const stderrLine = (line: string): void => void process.stderr.write(`${line}\n`);

/**
 * Runs `fn` until it answers, trying again while the server cannot be
 * reached or answers 5xx: one line when it stops answering, one when it is
 * back. Gives up (the last error) after `patienceMs` of no answer, or at the deadline.
 */
export async function keepTrying<T>(
  fn: () => Promise<T>,
  opts: { deadline?: number; patienceMs?: number | undefined; say?: ((line: string) => void) | undefined; signal?: AbortSignal | undefined } = {},
): Promise<T> {
  const say = opts.say ?? stderrLine;
  const patience = opts.patienceMs ?? DEFAULT_PATIENCE_MS;
  let since: number | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      const value = await fn();
      if (since !== undefined) say(`stacklab: the server answers again (after ${Math.round((Date.now() - since) / 1000)} s)`);
      return value;
    } catch (err) {
      if (!isTransient(err) || opts.signal?.aborted) throw err;
      const now = Date.now();
      since ??= now;
      if (now - since >= patience || now >= (opts.deadline ?? Infinity)) throw err;
      if (attempt === 0) say(`stacklab: server unreachable, retrying (${err instanceof UnreachableError ? err.message : (err as Error).message})`);
      await sleep(Math.min(backoff(attempt, 250, 5000), Math.max(0, (opts.deadline ?? Infinity) - now)), opts.signal);
    }
  }
}

export async function followJob(client: ApiClient, id: number, opts: FollowOptions = {}): Promise<Job> {
  const deadline = opts.timeoutMs ? Date.now() + opts.timeoutMs : Infinity;
  const retry = { deadline, patienceMs: opts.patienceMs ?? (opts.timeoutMs ? Infinity : undefined), say: opts.say, signal: opts.signal };
  let after = 0;
  for (;;) {
    const wait = Math.max(0, Math.min(30, (deadline - Date.now()) / 1000));
    const page = await keepTrying(() => client.get<EventsPage>(`/api/jobs/${id}/events`, { after, wait: wait.toFixed(3) }, opts.signal), retry);
    for (const e of page.events) {
      after = e.id;
      opts.onEvent?.(id, e);
    }
    if (page.job_stage === 'finish' && page.events.length === 0) break;
    if (page.job_stage === 'finish') continue; // drain the last entries first
    if (Date.now() >= deadline) throw new FailureError(`job ${id} did not finish within ${Math.round((opts.timeoutMs ?? 0) / 1000)} s (stage ${page.job_stage})`);
  }
  return keepTrying(() => client.get<Job>(`/api/jobs/${id}`, undefined, opts.signal), { patienceMs: opts.patienceMs, say: opts.say, signal: opts.signal });
}

export function followJobs(client: ApiClient, ids: number[], opts: FollowOptions = {}): Promise<Job[]> {
  return Promise.all(ids.map((id) => followJob(client, id, opts)));
}

/**
 * A detail of a timeline entry (or any JSON value) as key=value words:
 * nested objects as dotted keys, lists joined by commas, never raw JSON.
 */
export function keyValues(value: unknown, prefix = ''): string[] {
  if (value === null || value === undefined) return prefix ? [`${prefix}=-`] : [];
  if (Array.isArray(value)) return [`${prefix}=${value.map((v) => (v !== null && typeof v === 'object' ? keyValues(v).join(',') : String(v))).join(',')}`];
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return prefix ? [`${prefix}=-`] : [];
    return entries.flatMap(([k, v]) => keyValues(v, prefix ? `${prefix}.${k}` : k));
  }
  const s = String(value);
  return [`${prefix}=${/\s/.test(s) ? JSON.stringify(s) : s}`];
}

/** One timeline entry as a line: time, job, event and its details. */
export function eventLine(jobId: number, e: TimelineEntry): string {
  const { time, event, id: _id, ...detail } = e;
  const extra = keyValues(detail).join(' ');
  return `${time.slice(11, 23)}  job ${jobId}  ${event}${extra ? `  ${extra}` : ''}`;
}
