// Testboxes: registration (idempotent, a restarted agent re-registers) and heartbeats.
import type { ExpressionBuilder, Kysely, Selectable } from 'kysely';
import type { Database, TestboxesTable } from './schema.ts';
import { ACTIVE_STAGES } from '../model/lifecycle.ts';
import type { Tx } from './dialect.ts';

export type TestboxRow = Selectable<TestboxesTable>;

export interface TestboxInfo {
  hostname: string;
  type: string;
  arch: string;
  max_memory: number;
  cpus: number;
  mac?: string | null | undefined;
  /** The variables the box sets for every build it makes (--build-env). */
  build_env?: Record<string, string> | undefined;
}

/** Registers (or re-registers) a box; with a credential, the box's token hash and the secret it used. */
export async function registerTestbox(db: Kysely<Database>, box: TestboxInfo, now: number, cred: { token_sha256: string; secret_name: string } | null = null): Promise<void> {
  const row = {
    hostname: box.hostname,
    type: box.type,
    arch: box.arch,
    max_memory: box.max_memory,
    cpus: box.cpus,
    mac: box.mac ?? null,
    build_env: box.build_env && Object.keys(box.build_env).length ? JSON.stringify(box.build_env) : null,
    registered_at: now,
    last_heartbeat: now,
    token_sha256: cred?.token_sha256 ?? null,
    secret_name: cred?.secret_name ?? null,
  };
  const { hostname: _h, ...update } = row;
  await db.insertInto('testboxes').values(row).onConflict((oc) => oc.column('hostname').doUpdateSet(update)).execute();
}

/** Records a heartbeat; false if the testbox never registered. */
export async function heartbeat(db: Kysely<Database>, hostname: string, now: number): Promise<boolean> {
  const r = await db.updateTable('testboxes').set({ last_heartbeat: now }).where('hostname', '=', hostname).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function getTestbox(db: Kysely<Database>, hostname: string): Promise<TestboxRow | undefined> {
  return db.selectFrom('testboxes').selectAll().where('hostname', '=', hostname).executeTakeFirst();
}

export async function testboxByMac(db: Kysely<Database>, mac: string): Promise<TestboxRow | undefined> {
  return db.selectFrom('testboxes').selectAll().where('mac', '=', mac.toLowerCase()).executeTakeFirst();
}

export async function listTestboxes(db: Kysely<Database>): Promise<TestboxRow[]> {
  return db.selectFrom('testboxes').selectAll().orderBy('hostname').execute();
}

export async function ensureAccount(db: Kysely<Database>, name: string): Promise<void> {
  await db.insertInto('accounts').values({ name }).onConflict((oc) => oc.column('name').doNothing()).execute();
}

/**
 * One more infrastructure failure in a row for the box; at `max` it leaves
 * dispatch with `reason`. Returns true when this failure took it out.
 */
export async function recordInfraFailure(db: Kysely<Database>, hostname: string, max: number, reason: string, now: number): Promise<boolean> {
  const row = await db
    .updateTable('testboxes')
    .set((eb) => ({ infra_failures: eb('infra_failures', '+', 1) }))
    .where('hostname', '=', hostname)
    .returning(['infra_failures', 'disabled_reason'])
    .executeTakeFirst();
  if (!row || row.disabled_reason != null || row.infra_failures < max) return false;
  await db.updateTable('testboxes').set({ disabled_reason: reason, disabled_at: now }).where('hostname', '=', hostname).where('disabled_reason', 'is', null).execute();
  return true;
}

/** A job the box ran to a verdict of its own: its failures in a row start again. */
export async function resetInfraFailures(db: Kysely<Database>, hostname: string): Promise<void> {
  await db.updateTable('testboxes').set({ infra_failures: 0 }).where('hostname', '=', hostname).where('infra_failures', '>', 0).execute();
}

/** Puts a box back into dispatch (an admin's `testbox enable`); false if there is no such box. */
export async function enableTestbox(db: Kysely<Database>, hostname: string): Promise<boolean> {
  const r = await db.updateTable('testboxes').set({ infra_failures: 0, disabled_reason: null, disabled_at: null }).where('hostname', '=', hostname).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** The GiB the jobs of testbox `t` (the outer query's alias) take now: a subquery to select as `used`. */
export function memoryInUse(eb: ExpressionBuilder<Database & { t: Database['testboxes'] }, 't'>) {
  return eb
    .selectFrom('jobs')
    .select((e2) => e2.fn.coalesce(e2.fn.sum<number>('memory_minimum'), e2.lit(0)).as('s'))
    .whereRef('jobs.assigned', '=', 't.hostname')
    .where('jobs.stage', 'in', ACTIVE_STAGES);
}

/** Every testbox with the GiB its jobs take now: what the wait reasons and the queue timeout look at. */
export async function testboxesWithUse(db: Kysely<Database>): Promise<(TestboxRow & { used: number })[]> {
  const rows = await db
    .selectFrom('testboxes as t')
    .selectAll('t')
    .select((eb) => memoryInUse(eb).as('used'))
    .orderBy('t.hostname')
    .execute();
  return rows.map((r) => ({ ...r, used: Number(r.used ?? 0) }));
}

/** Locks a testbox's row until the transaction ends (PostgreSQL; SQLite's transactions are exclusive already). */
export async function lockTestbox(t: Tx, hostname: string): Promise<void> {
  await t.dialect.forUpdate(t.db.selectFrom('testboxes').select('hostname').where('hostname', '=', hostname)).execute();
}
