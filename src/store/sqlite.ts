// Kysely over node:sqlite (built into Node, no native addon to compile).
// Kysely serialises the one connection with a mutex; transactions begin
// IMMEDIATE so a transaction that reads then writes never meets a busy lock.
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { CompiledQuery, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type SqliteDatabase, type SqliteStatement } from 'kysely';

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

export interface OpenedSqlite {
  dialect: SqliteDialect;
  raw: DatabaseSync;
  /** Stops the checkpointer (a final TRUNCATE checkpoint) before the database closes. */
  stop(): Promise<void>;
}

export function openSqlite(file: string): OpenedSqlite {
  const raw = new DatabaseSync(file);
  raw.exec('PRAGMA journal_mode = WAL');
  raw.exec('PRAGMA synchronous = NORMAL');
  raw.exec('PRAGMA foreign_keys = ON');
  raw.exec('PRAGMA busy_timeout = 10000');
  if (file === ':memory:') return { dialect: new NodeSqliteDialect(adapt(raw)), raw, stop: async () => {} };
  raw.exec('PRAGMA wal_autocheckpoint = 0');
  const worker = new Worker(new URL('./checkpointer.ts', import.meta.url), { workerData: { file, everyMs: 500 } });
  worker.unref();
  return {
    dialect: new NodeSqliteDialect(adapt(raw)),
    raw,
    stop: async () => {
      const done = once(worker, 'message').catch(() => {});
      worker.postMessage('stop');
      await Promise.race([done, new Promise((r) => setTimeout(r, 2000))]);
      await worker.terminate();
    },
  };
}
