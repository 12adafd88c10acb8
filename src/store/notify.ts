// Wake-ups: a commit that changes what waiters care about (a job became
// dispatchable, a job changed stage) signals them at once instead of them
// polling. In one process this is an EventEmitter; on PostgreSQL the store
// also carries signals between processes with LISTEN/NOTIFY.
import { EventEmitter } from 'node:events';

export const CHANNEL_DISPATCH = 'dispatch';
export const jobChannel = (id: number): string => `job:${id}`;
/** Work for testboxes of one type and arch: only they are woken. */
export const dispatchChannel = (type: string, arch: string): string => `dispatch:${type}:${arch}`;
/** A payload that wakes at most n of a channel's waiters, the longest waiting first. */
export const wakeAtMost = (n: number): string => `limit:${n}`;

export class Notifier {
  readonly #emitter = new EventEmitter();
  readonly #seq = new Map<string, number>();

  constructor() {
    this.#emitter.setMaxListeners(0);
  }

  emit(channel: string, payload = ''): void {
    this.#seq.set(channel, (this.#seq.get(channel) ?? 0) + 1);
    const limit = /^limit:(\d+)$/.exec(payload);
    if (!limit) {
      this.#emitter.emit(channel, payload);
      return;
    }
    // Wake as many waiters as there is new work, not every one: each woken one claims.
    for (const fn of this.#emitter.listeners(channel).slice(0, Number(limit[1]))) (fn as (p: string) => void)(payload);
  }

  /**
   * How many signals the channel has had. A waiter reads it before it looks
   * at the database and passes it to wait(), so a signal that fires between
   * the look and the wait is not lost.
   */
  seq(channel: string): number {
    return this.#seq.get(channel) ?? 0;
  }

  /** Wakes every waiter of every channel (after signals may have been lost). */
  emitAll(): void {
    for (const name of this.#emitter.eventNames()) this.emit(String(name));
  }

  on(channel: string, fn: (payload: string) => void): () => void {
    this.#emitter.on(channel, fn);
    return () => this.#emitter.off(channel, fn);
  }

  /** Resolves true when the channel fires (or fired since `since`), false after timeoutMs or on abort. */
  wait(channel: string, timeoutMs: number, signal?: AbortSignal, since?: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (since !== undefined && this.seq(channel) !== since) return resolve(true);
      if (signal?.aborted || timeoutMs <= 0) return resolve(false);
      const done = (fired: boolean) => {
        clearTimeout(timer);
        off();
        signal?.removeEventListener('abort', onAbort);
        resolve(fired);
      };
      const onAbort = () => done(false);
      const off = this.on(channel, () => done(true));
      const timer = setTimeout(() => done(false), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
