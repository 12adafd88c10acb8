// Numbered, append-only SQL migrations, one directory per dialect
// (migrations/<dialect>/NNN_name.sql). Each file runs in its own transaction;
// on PostgreSQL an advisory lock keeps two servers starting together from
// applying the same file twice.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import type { DatabaseSync } from 'node:sqlite';
import type { Database } from './schema.ts';

export type Dialect = 'sqlite' | 'postgres';

const MIGRATIONS_DIR = join(import.meta.dirname, 'migrations');
const LOCK_ID = 7_246_310;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function listMigrations(dialect: Dialect): Migration[] {
  const dir = join(MIGRATIONS_DIR, dialect);
  return readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 3)), name: f.slice(4, -4), sql: readFileSync(join(dir, f), 'utf8') }));
}

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`;

/** Applies the migrations not yet applied; returns the versions it applied. */
export async function migrate(db: Kysely<Database>, dialect: Dialect, raw?: DatabaseSync): Promise<number[]> {
  const applied: number[] = [];
  if (dialect === 'sqlite') {
    if (!raw) throw new Error('sqlite migrations need the raw handle');
    raw.exec(CREATE_TABLE);
    const done = new Set((raw.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
    for (const m of listMigrations(dialect)) {
      if (done.has(m.version)) continue;
      raw.exec('BEGIN IMMEDIATE');
      try {
        raw.exec(m.sql);
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
  await db.connection().execute(async (conn) => {
    await sql`SELECT pg_advisory_lock(${LOCK_ID})`.execute(conn);
    try {
      await sql.raw(CREATE_TABLE).execute(conn);
      const rows = await conn.selectFrom('schema_migrations').select('version').execute();
      const done = new Set(rows.map((r) => Number(r.version)));
      for (const m of listMigrations(dialect)) {
        if (done.has(m.version)) continue;
        await conn.transaction().execute(async (trx) => {
          await sql.raw(m.sql).execute(trx);
          await trx.insertInto('schema_migrations').values({ version: m.version, name: m.name, applied_at: Date.now() }).execute();
        });
        applied.push(m.version);
      }
    } finally {
      await sql`SELECT pg_advisory_unlock(${LOCK_ID})`.execute(conn);
    }
  });
  return applied;
}
