// What a job run needs of the scheduler, as a small interface: report a
// stage, upload a result file or a build artifact, close with a health, and
// download what the job names. The agent gives each run one over HTTP with
// the testbox's own name; a run inside a vm guest reports the same way
// with its per-job credential.
import type { ApiClient } from '../api/client.ts';

export interface JobReporter {
  /** The scheduler this reports to: artifact URLs are relative to it. */
  readonly client: ApiClient;
  stage(jobId: number, stage: 'running' | 'post_run'): Promise<void>;
  /** A file into the job's result root, at a path relative to it. */
  upload(jobId: number, relPath: string, file: string): Promise<void>;
  /** A pkgbuild job's artifact (pkg.cgz, vmlinuz, modules.cgz). */
  uploadArtifact(jobId: number, name: string, file: string): Promise<void>;
  close(jobId: number, health: string): Promise<void>;
  download(path: string, file: string, signal?: AbortSignal): Promise<number>;
}

/** Reports as the testbox `hostname` (its name is its claim on the job). */
export class HttpReporter implements JobReporter {
  readonly client: ApiClient;
  readonly #hostname: string;

  constructor(client: ApiClient, hostname: string) {
    this.client = client;
    this.#hostname = hostname;
  }

  async stage(jobId: number, stage: 'running' | 'post_run'): Promise<void> {
    await this.client.post(`/api/jobs/${jobId}/stage`, { testbox: this.#hostname, stage });
  }

  async upload(jobId: number, relPath: string, file: string): Promise<void> {
    const path = `/api/jobs/${jobId}/result/${relPath.split('/').map(encodeURIComponent).join('/')}`;
    await this.client.upload(path, file, { testbox: this.#hostname });
  }

  async uploadArtifact(jobId: number, name: string, file: string): Promise<void> {
    await this.client.upload(`/api/jobs/${jobId}/artifact/${encodeURIComponent(name)}`, file, { testbox: this.#hostname });
  }

  async close(jobId: number, health: string): Promise<void> {
    await this.client.post(`/api/jobs/${jobId}/close`, { testbox: this.#hostname, health });
  }

  download(path: string, file: string, signal?: AbortSignal): Promise<number> {
    return this.client.download(path, file, signal);
  }
}
