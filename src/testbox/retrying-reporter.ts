// A reporter that outlasts a server restart: a report that fails because the
// server cannot be reached (or answers 5xx) is tried again with a growing
// back-off until the job's patience runs out, so a job that ran keeps its
// results and its close. A refusal (4xx) is an answer, not a failure: it is
// passed on at once.
import { ApiError } from '../api/client.ts';
import type { ApiClient } from '../api/client.ts';
import { backoff, sleep } from '../util/sleep.ts';
import type { Log } from '../util/log.ts';
import type { JobReporter } from './reporter.ts';

export interface RetryOptions {
  /** Give up after this long (ms) since the first failure of one report. */
  patienceMs: number;
  /** Stops the waiting (the agent stopping). */
  signal?: AbortSignal | undefined;
  log?: Log | undefined;
}

export class RetryingReporter implements JobReporter {
  readonly #inner: JobReporter;
  readonly #o: RetryOptions;

  constructor(inner: JobReporter, o: RetryOptions) {
    this.#inner = inner;
    this.#o = o;
  }

  get client(): ApiClient {
    return this.#inner.client;
  }

  async #retry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (err instanceof ApiError || this.#o.signal?.aborted || Date.now() - started >= this.#o.patienceMs) throw err;
        const delay = Math.min(backoff(attempt, 250, 10_000), Math.max(0, this.#o.patienceMs - (Date.now() - started)));
        this.#o.log?.warn({ err: (err as Error).message, retry_in_ms: delay }, `${what} failed; trying again`);
        await sleep(delay, this.#o.signal);
      }
    }
  }

  stage(jobId: number, stage: 'running' | 'post_run'): Promise<void> {
    return this.#retry(`job ${jobId} stage ${stage}`, () => this.#inner.stage(jobId, stage));
  }

  upload(jobId: number, relPath: string, file: string): Promise<void> {
    return this.#retry(`job ${jobId} upload ${relPath}`, () => this.#inner.upload(jobId, relPath, file));
  }

  uploadArtifact(jobId: number, name: string, file: string): Promise<void> {
    return this.#retry(`job ${jobId} artifact ${name}`, () => this.#inner.uploadArtifact(jobId, name, file));
  }

  close(jobId: number, health: string): Promise<void> {
    return this.#retry(`job ${jobId} close`, () => this.#inner.close(jobId, health));
  }

  download(path: string, file: string, signal?: AbortSignal): Promise<number> {
    return this.#retry(`download ${path}`, () => this.#inner.download(path, file, signal));
  }
}
