// Databases for tests: a SQLite file in a temp dir, and a fresh PostgreSQL
// database per test run (dropped afterwards). Where no PostgreSQL answers the
// PostgreSQL cases are skipped with a visible message — except under CI,
// where they must run, so a CI run can never pass by skipping them.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { Store } from '../../src/store/db.ts';
import { tempDir } from './tmp.ts';

export const PG_ADMIN_URL = process.env.STACKLAB_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let pgAvailable: Promise<boolean> | undefined;

export function postgresAvailable(): Promise<boolean> {
  pgAvailable ??= (async () => {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch (err) {
      if (process.env.CI) throw new Error(`PostgreSQL is required under CI but does not answer at ${PG_ADMIN_URL}: ${(err as Error).message}`);
      process.stderr.write(`\n*** PostgreSQL not reachable at ${PG_ADMIN_URL}: PostgreSQL tests are SKIPPED ***\n\n`);
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return pgAvailable;
}

/** Creates an empty database; returns its URL and a function that drops it. */
export async function createPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `stacklab_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface TestDb {
  dialect: 'sqlite' | 'postgres';
  url: string;
  cleanup(): Promise<void>;
}

/** A fresh, empty database of the given dialect. */
export async function freshDb(dialect: 'sqlite' | 'postgres'): Promise<TestDb> {
  if (dialect === 'postgres') {
    const db = await createPgDatabase();
    return { dialect, url: db.url, cleanup: db.drop };
  }
  const t = tempDir('stacklab-db-');
  return { dialect, url: join(t.dir, 'stacklab.db'), cleanup: async () => t.cleanup() };
}

export async function openFresh(dialect: 'sqlite' | 'postgres'): Promise<{ store: Store; cleanup(): Promise<void> }> {
  const db = await freshDb(dialect);
  const store = await Store.open(db.url);
  return {
    store,
    async cleanup() {
      await store.close();
      await db.cleanup();
    },
  };
}

/** The dialects a store/scheduler suite runs on: SQLite always, PostgreSQL when it answers. */
export async function dialects(): Promise<('sqlite' | 'postgres')[]> {
  return (await postgresAvailable()) ? ['sqlite', 'postgres'] : ['sqlite'];
}
