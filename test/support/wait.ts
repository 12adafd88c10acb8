// Polling helpers for integration tests: wait until a condition holds.
import type { ApiClient } from '../../src/api/client.ts';
import type { Job } from '../../src/api/contract.ts';

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Waits until a job finishes (long-polling its timeline) and returns it. */
export async function finished(api: ApiClient, id: number, timeoutMs = 60_000): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  let after = 0;
  for (;;) {
    const page = await api.get<{ events: { id: number }[]; job_stage: string }>(`/api/jobs/${id}/events`, { after, wait: 5 });
    for (const e of page.events) after = e.id;
    if (page.job_stage === 'finish') return api.get<Job>(`/api/jobs/${id}`);
    if (Date.now() > deadline) throw new Error(`job ${id} did not finish in ${timeoutMs} ms (stage ${page.job_stage})`);
  }
}
