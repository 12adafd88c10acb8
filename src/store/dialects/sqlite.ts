// SQLite, the embedded default: Kysely over node:sqlite (built into Node, no
// native addon to compile). One server process per file; Kysely serialises
// the one connection with a mutex, and every transaction begins IMMEDIATE
// (the exclusive transaction), so a transaction that reads then writes never
// meets a busy lock and no row lock is needed. A worker thread checkpoints
// the WAL off the serving connection.
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import {
  CompiledQuery,
  Kysely,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
  type SelectQueryBuilder,
  type SqliteDatabase,
  type SqliteStatement,
} from 'kysely';
import type { Database } from '../schema.ts';
import type { ClaimHost, Dialect } from '../dialect.ts';
import { listMigrations } from '../migrate.ts';
import { boxState, claimNext } from '../claim.ts';
import { jobChannel } from '../notify.ts';
import type { JobRow } from '../rows.ts';

/** Wraps node:sqlite in the interface Kysely's SQLite driver expects, caching prepared statements. */
function adapt(db: DatabaseSync): SqliteDatabase {
  const cache = new Map<string, { stmt: StatementSync; reader: boolean }>();
  return {
    close: () => db.close(),
    prepare(sql: string): SqliteStatement {
      let hit = cache.get(sql);
      if (!hit) {
        const stmt = db.prepare(sql);
        hit = { stmt, reader: stmt.columns().length > 0 };
        if (cache.size > 1000) cache.clear();
        cache.set(sql, hit);
      }
      const { stmt, reader } = hit;
      return {
        reader,
        all: (params) => stmt.all(...(params as never[])),
        run: (params) => stmt.run(...(params as never[])),
        iterate: (params) => stmt.iterate(...(params as never[])),
      };
    },
  };
}

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class NodeSqliteDialect extends SqliteDialect {
  readonly #database: SqliteDatabase;
  constructor(database: SqliteDatabase) {
    super({ database });
    this.#database = database;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver({ database: this.#database });
  }
}

/** The WAL is emptied once it passes this (docs/OPERATIONS.md): a few seconds of the heaviest write load. */
export const DEFAULT_WAL_LIMIT = 64 * 1024 * 1024;

const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`;

export class SqliteStore implements Dialect {
  readonly engine = 'sqlite' as const;
  readonly singleServer = true;
  readonly db: Kysely<Database>;
  readonly #raw: DatabaseSync;
  readonly #stop: () => Promise<void>;

  constructor(file: string, opts: { walLimitBytes?: number | undefined } = {}) {
    const raw = new DatabaseSync(file);
    raw.exec('PRAGMA journal_mode = WAL');
    raw.exec('PRAGMA synchronous = NORMAL');
    raw.exec('PRAGMA foreign_keys = ON');
    raw.exec('PRAGMA busy_timeout = 10000');
    this.#raw = raw;
    this.db = new Kysely<Database>({ dialect: new NodeSqliteDialect(adapt(raw)) });
    if (file === ':memory:') {
      this.#stop = async () => {};
      return;
    }
    // A checkpoint on the serving connection would stall whichever claim or submit crossed the threshold.
    raw.exec('PRAGMA wal_autocheckpoint = 0');
    const walLimitBytes = opts.walLimitBytes ?? DEFAULT_WAL_LIMIT;
    // After a checkpoint empties the WAL, SQLite truncates the file to this on its next reset.
    raw.exec(`PRAGMA journal_size_limit = ${Math.floor(walLimitBytes)}`);
    const worker = new Worker(new URL('./sqlite-checkpointer.ts', import.meta.url), { workerData: { file, everyMs: 500, walLimitBytes } });
    worker.unref();
    this.#stop = async () => {
      const done = once(worker, 'message').catch(() => {});
      worker.postMessage('stop');
      await Promise.race([done, new Promise((r) => setTimeout(r, 2000))]);
      await worker.terminate();
    };
  }

  async migrate(): Promise<number[]> {
    const raw = this.#raw;
    raw.exec(MIGRATIONS_TABLE);
    const done = new Set((raw.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
    const applied: number[] = [];
    for (const m of listMigrations('sqlite')) {
      if (done.has(m.version)) continue;
      raw.exec('BEGIN IMMEDIATE');
      try {
        if (m.sql !== null) raw.exec(m.sql);
        raw.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
        raw.exec('COMMIT');
      } catch (err) {
        raw.exec('ROLLBACK');
        throw new Error(`migration ${m.version}_${m.name} failed: ${(err as Error).message}`, { cause: err });
      }
      applied.push(m.version);
    }
    return applied;
  }

  forUpdate<DB, TB extends keyof DB, O>(q: SelectQueryBuilder<DB, TB, O>): SelectQueryBuilder<DB, TB, O> {
    return q; // writers are serialised: a row read in a transaction cannot change under it
  }

  isRetryable(): boolean {
    return false;
  }

  async publish(): Promise<void> {}

  async subscribe(): Promise<void> {}

  async exclusive(_lockId: number, fn: () => Promise<void>): Promise<boolean> {
    await fn(); // one process per file: nobody else runs it
    return true;
  }

  /** The claim as plain queries in one IMMEDIATE transaction; the choice is model/match.ts's own function. */
  claim(host: ClaimHost, hostname: string, now: number, deadline: number): Promise<JobRow | undefined> {
    return host.tx(async (t) => {
      const box = await boxState(t.db, hostname);
      if (!box) return undefined;
      const row = await claimNext(t.db, { box, now, deadline });
      if (row) t.notify(jobChannel(row.id));
      return row;
    });
  }

  async close(): Promise<void> {
    await this.#stop();
    await this.db.destroy();
  }
}
