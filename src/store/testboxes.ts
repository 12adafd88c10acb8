// Testboxes: registration (idempotent, a restarted agent re-registers) and heartbeats.
import type { Kysely, Selectable } from 'kysely';
import type { Database, TestboxesTable } from './schema.ts';

export type TestboxRow = Selectable<TestboxesTable>;

export interface TestboxInfo {
  hostname: string;
  type: string;
  arch: string;
  max_memory: number;
  cpus: number;
  mac?: string | null | undefined;
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
