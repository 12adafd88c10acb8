// Work started off a request's path and not waited for there (a claimed
// job's job.yaml, a mirror cloned ahead of need), kept so that a server
// stopping or a test cleaning up can wait for it.

export class Background {
  readonly #pending = new Set<Promise<unknown>>();

  /** Keeps `work` until it settles; a rejection is the caller's to handle (it is not reported here). */
  add(work: Promise<unknown>): void {
    const tracked = work.finally(() => this.#pending.delete(tracked));
    tracked.catch(() => undefined);
    this.#pending.add(tracked);
  }

  /** Waits for everything added so far, and for what that adds meanwhile. */
  async settle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }
}
