// Following jobs live: long-polls each job's timeline until it finishes,
// handing every new entry to a callback (submit -m, job wait, demo).
import type { ApiClient } from '../api/client.ts';
import type { Job, TimelineEntry } from '../api/contract.ts';
import { FailureError } from '../errors.ts';

interface EventsPage {
  events: (TimelineEntry & { id: number })[];
  job_stage: string;
  job_health: string | null;
}

export interface FollowOptions {
  onEvent?: (jobId: number, entry: TimelineEntry) => void;
  /** Give up after this many ms (FailureError). */
  timeoutMs?: number | undefined;
}

export async function followJob(client: ApiClient, id: number, opts: FollowOptions = {}): Promise<Job> {
  const deadline = opts.timeoutMs ? Date.now() + opts.timeoutMs : Infinity;
  let after = 0;
  for (;;) {
    const wait = Math.max(0, Math.min(30, (deadline - Date.now()) / 1000));
    const page = await client.get<EventsPage>(`/api/jobs/${id}/events`, { after, wait: wait.toFixed(3) });
    for (const e of page.events) {
      after = e.id;
      opts.onEvent?.(id, e);
    }
    if (page.job_stage === 'finish' && page.events.length === 0) break;
    if (page.job_stage === 'finish') continue; // drain the last entries first
    if (Date.now() >= deadline) throw new FailureError(`job ${id} did not finish within ${Math.round((opts.timeoutMs ?? 0) / 1000)} s (stage ${page.job_stage})`);
  }
  return client.get<Job>(`/api/jobs/${id}`);
}

export function followJobs(client: ApiClient, ids: number[], opts: FollowOptions = {}): Promise<Job[]> {
  return Promise.all(ids.map((id) => followJob(client, id, opts)));
}

/** One timeline entry as a line: time, job, event and its details. */
export function eventLine(jobId: number, e: TimelineEntry): string {
  const { time, event, ...detail } = e;
  const extra = Object.entries(detail)
    .filter(([k]) => k !== 'id')
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
  return `${time.slice(11, 23)}  job ${jobId}  ${event}${extra ? `  ${extra}` : ''}`;
}
