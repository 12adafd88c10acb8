// Opens the store: SQLite (the embedded default, a file) or PostgreSQL (a
// postgres:// URL), migrated and ready. Everything dialect-specific about
// opening, transactions and cross-process signals lives here.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import type { DatabaseSync } from 'node:sqlite';
import type { Database } from './schema.ts';
import { openSqlite } from './sqlite.ts';
import { migrate, type Dialect } from './migrate.ts';
import { Notifier } from './notify.ts';
import { isRetryable } from './dialect.ts';

export type { Dialect } from './migrate.ts';

/** A transaction, with signals sent only if (and when) it commits. */
export interface Tx {
  db: Transaction<Database>;
  notify(channel: string, payload?: string): void;
  /** Runs fn after the commit (metrics, logs); never if the transaction rolls back. */
  after(fn: () => void): void;
}

export interface StoreOptions {
  /** PostgreSQL pool size (default 10). */
  poolSize?: number | undefined;
  /** PostgreSQL statement timeout in ms (default 30 s): a stuck query fails instead of holding a connection. */
  statementTimeout?: number | undefined;
}

const PG_CHANNEL = 'stacklab';

export class Store {
  readonly dialect: Dialect;
  readonly db: Kysely<Database>;
  readonly notifier = new Notifier();
  /** This process's mark on the NOTIFYs it sends, so its own listener skips them. */
  readonly origin = randomUUID();
  #listener: pg.Client | undefined;
  #beforeClose: (() => Promise<void>) | undefined;
  #closed = false;

  private constructor(dialect: Dialect, db: Kysely<Database>) {
    this.dialect = dialect;
    this.db = db;
  }

  static async open(url: string, opts: StoreOptions = {}): Promise<Store> {
    if (/^postgres(ql)?:\/\//.test(url)) {
      const pool = new pg.Pool({
        connectionString: url,
        max: opts.poolSize ?? 10,
        types: pgTypes,
        statement_timeout: opts.statementTimeout ?? 30_000,
        connectionTimeoutMillis: 10_000,
        application_name: 'stacklab',
      });
      // An idle connection that PostgreSQL closes (a restart, an administrator) is
      // dropped from the pool and replaced on next use; without a listener the
      // pool would throw it as an uncaught error and take the server down.
      pool.on('error', () => {});
      const store = new Store('postgres', new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }));
      await migrate(store.db, 'postgres');
      await store.#listen(url);
      return store;
    }
    const file = url.replace(/^sqlite:(\/\/)?/, '');
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    const { dialect, raw, stop } = openSqlite(file);
    const store = new Store('sqlite', new Kysely<Database>({ dialect }));
    store.#beforeClose = stop;
    await migrate(store.db, 'sqlite', raw as DatabaseSync);
    return store;
  }

  /**
   * Runs fn in one transaction; its notifications fire after the commit. On
   * PostgreSQL a transaction chosen as a deadlock or serialisation victim is
   * run again from the start (fn must have no effects outside the database).
   */
  async tx<T>(fn: (t: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#txOnce(fn);
      } catch (err) {
        if (!isRetryable(err) || attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
      }
    }
  }

  async #txOnce<T>(fn: (t: Tx) => Promise<T>): Promise<T> {
    const pending: [string, string][] = [];
    const afters: (() => void)[] = [];
    const result = await this.db.transaction().execute(async (trx) => {
      pending.length = 0;
      afters.length = 0;
      const value = await fn({ db: trx, notify: (channel, payload = '') => pending.push([channel, payload]), after: (f) => afters.push(f) });
      if (this.dialect === 'postgres' && pending.length > 0) {
        // Delivered by PostgreSQL on commit to every listening server.
        const message = JSON.stringify({ o: this.origin, n: pending });
        await sql`SELECT pg_notify(${PG_CHANNEL}, ${message})`.execute(trx);
      }
      return value;
    });
    for (const [channel, payload] of pending) this.notifier.emit(channel, payload);
    for (const f of afters) f();
    return result;
  }

  /**
   * Runs fn only if no other server runs the same named task now (a
   * PostgreSQL advisory lock); returns false if skipped. One process per
   * SQLite file, so there it always runs.
   */
  async exclusive(lockId: number, fn: () => Promise<void>): Promise<boolean> {
    if (this.dialect !== 'postgres') {
      await fn();
      return true;
    }
    return this.db.connection().execute(async (conn) => {
      const { rows } = await sql<{ ok: boolean }>`SELECT pg_try_advisory_lock(${lockId}) AS ok`.execute(conn);
      if (!rows[0]?.ok) return false;
      try {
        await fn();
      } finally {
        await sql`SELECT pg_advisory_unlock(${lockId})`.execute(conn);
      }
      return true;
    });
  }

  /**
   * One connection LISTENs for the other servers' signals. If it drops, it is
   * re-established with backoff, and every channel's waiters are woken (they
   * may have missed a signal meanwhile; the database stays the truth).
   */
  async #listen(url: string, attempt = 0): Promise<void> {
    const client = new pg.Client({ connectionString: url });
    const retry = () => {
      if (this.#closed || this.#listener !== client) return;
      this.#listener = undefined;
      client.end().catch(() => {});
      setTimeout(() => void this.#listen(url, attempt + 1).catch(() => {}), Math.min(5000, 100 * 2 ** attempt)).unref();
    };
    client.on('notification', (msg) => {
      if (msg.channel !== PG_CHANNEL || !msg.payload) return;
      const { o, n } = JSON.parse(msg.payload) as { o: string; n: [string, string][] };
      if (o === this.origin) return; // already emitted locally at commit
      for (const [channel, payload] of n) this.notifier.emit(channel, payload);
    });
    client.on('error', retry);
    client.on('end', retry);
    this.#listener = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${PG_CHANNEL}`);
    } catch (err) {
      if (attempt === 0) throw err;
      retry();
      return;
    }
    if (attempt > 0) this.notifier.emitAll();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const listener = this.#listener;
    this.#listener = undefined;
    await listener?.end().catch(() => {});
    await this.#beforeClose?.();
    await this.db.destroy();
  }
}

// BIGINT columns hold epoch ms and ids, all well inside 2^53: read them as numbers.
const pgTypes = {
  getTypeParser(oid: number, format?: string) {
    if (oid === 20) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as pg.CustomTypesConfig;
