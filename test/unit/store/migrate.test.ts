// The migrations are written once for both engines: their type tokens become
// each engine's types, an engine-only file is skipped elsewhere (its number
// recorded), and nothing is left unfilled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listMigrations, renderMigration } from '../../../src/store/migrate.ts';

test('every migration renders for both engines with no token left, the same numbers on each', () => {
  const sqlite = listMigrations('sqlite');
  const postgres = listMigrations('postgres');
  assert.deepEqual(sqlite.map((m) => m.version), postgres.map((m) => m.version));
  assert.deepEqual(sqlite.map((m) => m.version), sqlite.map((_, i) => i + 1), 'numbered 1, 2, 3… without gaps');
  for (const m of [...sqlite, ...postgres]) if (m.sql !== null) assert.doesNotMatch(m.sql, /\{\{/, `${m.version}_${m.name}`);
});

test('a table is one text: the engines differ only in the types the tokens stand for', () => {
  const text = 'CREATE TABLE t (\n  id {{id}},\n  at {{bigint}} NOT NULL,\n  gib {{real}}\n);';
  assert.equal(renderMigration(text, 'sqlite'), 'CREATE TABLE t (\n  id INTEGER PRIMARY KEY AUTOINCREMENT,\n  at INTEGER NOT NULL,\n  gib REAL\n);');
  assert.equal(renderMigration(text, 'postgres'), 'CREATE TABLE t (\n  id BIGSERIAL PRIMARY KEY,\n  at BIGINT NOT NULL,\n  gib DOUBLE PRECISION\n);');
  assert.throws(() => renderMigration('x {{uuid}}', 'sqlite'), /unknown type token \{\{uuid\}\}/);
});

test('the claim function is PostgreSQL only', () => {
  const claim = (e: 'sqlite' | 'postgres') => listMigrations(e).find((m) => m.name === 'claim_function')!;
  assert.equal(claim('sqlite').sql, null);
  assert.match(claim('postgres').sql!, /CREATE FUNCTION stacklab_claim/);
});
