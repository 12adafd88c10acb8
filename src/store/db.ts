// The store: SQLite (the embedded default, a file) or PostgreSQL (a
// postgres:// URL), migrated and ready, with transactions whose signals fire
// at commit. What the two engines do differently is the Dialect's business
// (dialect.ts, dialects/); this class is written once over it.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { MAX_MESSAGE_BYTES, type ClaimHost, type Dialect, type Tx } from './dialect.ts';
import { SqliteStore } from './dialects/sqlite.ts';
import { PostgresStore } from './dialects/postgres.ts';
import { Notifier } from './notify.ts';
import type { JobRow } from './rows.ts';

export type { Tx } from './dialect.ts';

export interface StoreOptions {
  /** PostgreSQL pool size (default 10). */
  poolSize?: number | undefined;
  /** PostgreSQL statement timeout in ms (default 30 s): a stuck query fails instead of holding a connection. */
  statementTimeout?: number | undefined;
  /** SQLite: the WAL is emptied once it passes this many bytes (default 64 MiB). */
  walLimitBytes?: number | undefined;
}

type Signal = [channel: string, payload: string];

export class Store implements ClaimHost {
  readonly dialect: Dialect;
  readonly db: Kysely<Database>;
  readonly notifier = new Notifier();
  /** This process's mark on the signals it sends, so its own listener skips them. */
  readonly origin = randomUUID();
  #closed = false;

  private constructor(dialect: Dialect) {
    this.dialect = dialect;
    this.db = dialect.db;
  }

  static async open(url: string, opts: StoreOptions = {}): Promise<Store> {
    let dialect: Dialect;
    if (/^postgres(ql)?:\/\//.test(url)) dialect = new PostgresStore(url, opts);
    else {
      const file = url.replace(/^sqlite:(\/\/)?/, '');
      if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
      dialect = new SqliteStore(file, { walLimitBytes: opts.walLimitBytes });
    }
    const store = new Store(dialect);
    try {
      await dialect.migrate();
      await dialect.subscribe(
        (message) => store.#receive(message),
        () => store.notifier.emitAll(),
      );
    } catch (err) {
      await dialect.close().catch(() => {});
      throw err;
    }
    return store;
  }

  /** 'sqlite' or 'postgres'. */
  get engine(): string {
    return this.dialect.engine;
  }

  /**
   * Runs fn in one transaction; its notifications fire after the commit, in
   * this process and (PostgreSQL) in every other server. A transaction the
   * engine picks as a deadlock or serialisation victim is run again from the
   * start (fn must have no effects outside the database).
   */
  async tx<T>(fn: (t: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#txOnce(fn);
      } catch (err) {
        if (!this.dialect.isRetryable(err) || attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
      }
    }
  }

  async #txOnce<T>(fn: (t: Tx) => Promise<T>): Promise<T> {
    const pending: Signal[] = [];
    const afters: (() => void)[] = [];
    const dialect = this.dialect;
    const result = await this.db.transaction().execute(async (trx) => {
      pending.length = 0;
      afters.length = 0;
      const value = await fn({ db: trx, dialect, notify: (channel, payload = '') => pending.push([channel, payload]), after: (f) => afters.push(f) });
      // Delivered on commit to every listening server; as many messages as the engine's size limit needs.
      if (!dialect.singleServer) for (const message of messages(this.origin, pending)) await dialect.publish(trx, message);
      return value;
    });
    for (const [channel, payload] of pending) this.notifier.emit(channel, payload);
    for (const f of afters) f();
    return result;
  }

  emitLocal(channel: string): void {
    this.notifier.emit(channel);
  }

  #receive(message: string): void {
    let parsed: { o?: string; n?: Signal[] };
    try {
      parsed = JSON.parse(message) as typeof parsed;
    } catch {
      return; // not one of ours
    }
    if (parsed.o === this.origin || !Array.isArray(parsed.n)) return; // ours were emitted locally at commit
    for (const [channel, payload] of parsed.n) this.notifier.emit(String(channel), String(payload ?? ''));
  }

  /** Runs fn only if no other server runs the same named task now; false if skipped. */
  exclusive(lockId: number, fn: () => Promise<void>): Promise<boolean> {
    return this.dialect.exclusive(lockId, fn);
  }

  /** Hands the testbox its best job and wakes the job's followers; undefined if there is nothing for it. */
  claim(hostname: string, now: number, deadline: number): Promise<JobRow | undefined> {
    return this.dialect.claim(this, hostname, now, deadline);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.dialect.close();
  }
}

/** The signals as messages `{o: origin, n: [[channel, payload]…]}`, none over the engine's limit. */
export function messages(origin: string, signals: Signal[]): string[] {
  const out: string[] = [];
  let batch: Signal[] = [];
  let size = 0;
  const envelope = Buffer.byteLength(JSON.stringify({ o: origin, n: [] }));
  for (const s of signals) {
    const len = Buffer.byteLength(JSON.stringify(s)) + 1;
    if (batch.length > 0 && envelope + size + len > MAX_MESSAGE_BYTES) {
      out.push(JSON.stringify({ o: origin, n: batch }));
      batch = [];
      size = 0;
    }
    batch.push(s);
    size += len;
  }
  if (batch.length > 0) out.push(JSON.stringify({ o: origin, n: batch }));
  return out;
}
