// Numbered, append-only SQL migrations (migrations/NNN_name.sql), each
// table written once for both engines: the type tokens {{id}}, {{bigint}}
// and {{real}} become each engine's types at load. A file whose first line
// is `-- engine: <name>` runs only on that engine; elsewhere its version is
// recorded and nothing runs (the numbers stay the same everywhere). The
// engines apply them (dialects/*.ts), each file in its own transaction.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Engine = 'sqlite' | 'postgres';

const MIGRATIONS_DIR = join(import.meta.dirname, 'migrations');

const TYPES: Record<Engine, Record<string, string>> = {
  sqlite: { id: 'INTEGER PRIMARY KEY AUTOINCREMENT', bigint: 'INTEGER', real: 'REAL' },
  postgres: { id: 'BIGSERIAL PRIMARY KEY', bigint: 'BIGINT', real: 'DOUBLE PRECISION' },
};

export interface Migration {
  version: number;
  name: string;
  /** The statements for this engine; null when the file is for another engine. */
  sql: string | null;
}

/** The migration file's text with its type tokens filled in for one engine. */
export function renderMigration(text: string, engine: Engine): string | null {
  const only = /^-- engine: ([a-z]+)\s*$/m.exec(text.split('\n', 1)[0] ?? '')?.[1];
  if (only !== undefined && only !== engine) return null;
  return text.replace(/\{\{(\w+)\}\}/g, (token, name: string) => {
    const t = TYPES[engine][name];
    if (t === undefined) throw new Error(`unknown type token ${token} in a migration`);
    return t;
  });
}

export function listMigrations(engine: Engine): Migration[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 3)), name: f.slice(4, -4), sql: renderMigration(readFileSync(join(MIGRATIONS_DIR, f), 'utf8'), engine) }));
}
