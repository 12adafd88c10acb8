// Submit idempotency (an Idempotency-Key header): the first submit with a
// key records it, in its own transaction, with a digest of its body and
// then its answer; a retry with the same key gets that answer again and
// submits nothing; the same key with another body is refused.
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import type { SubmitResult } from '../api/contract.ts';

type Db = Kysely<Database>;

export interface SubmitKey {
  request: string;
  /** Null while the submit that took the key is still in its transaction. */
  response: SubmitResult[] | null;
}

export async function getSubmitKey(db: Db, account: string, key: string): Promise<SubmitKey | undefined> {
  const r = await db.selectFrom('submit_keys').select(['request', 'response']).where('account', '=', account).where('key', '=', key).executeTakeFirst();
  return r && { request: r.request, response: r.response === '' ? null : (JSON.parse(r.response) as SubmitResult[]) };
}

/** Takes the key for this submit; false if another submit holds it (on PostgreSQL this waits for that one to commit). */
export async function takeSubmitKey(db: Db, account: string, key: string, request: string, now: number): Promise<boolean> {
  const rows = await db
    .insertInto('submit_keys')
    .values({ account, key, request, response: '', created_at: now })
    .onConflict((oc) => oc.columns(['account', 'key']).doNothing())
    .returning('key')
    .execute();
  return rows.length === 1;
}

/** Forgets the keys taken before `before` (a client retries a submit for minutes, not days); the number forgotten. */
export async function pruneSubmitKeys(db: Db, before: number): Promise<number> {
  const r = await db.deleteFrom('submit_keys').where('created_at', '<', before).executeTakeFirst();
  return Number(r.numDeletedRows);
}

export async function setSubmitAnswer(db: Db, account: string, key: string, response: SubmitResult[]): Promise<void> {
  await db.updateTable('submit_keys').set({ response: JSON.stringify(response) }).where('account', '=', account).where('key', '=', key).execute();
}
