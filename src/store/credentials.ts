// Credentials: accounts with their tokens, the secrets the lab issues to
// testboxes, a testbox's own token and a job's own token. Only sha256 of a
// token is stored: a token is 192 random bits, so a fast hash is enough and a
// stolen database holds no usable token. A token is looked up by its hash and
// the stored hash compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { ACTIVE_STAGES } from '../model/lifecycle.ts';

type Db = Kysely<Database>;

export const tokenHash = (token: string): string => createHash('sha256').update(token).digest('hex');

/** A new random token with a prefix that says what it is (sla_: account, slt_: testbox, slj_: job, sls_: testbox secret). */
export const newToken = (prefix: 'sla' | 'slt' | 'slj' | 'sls'): string => `${prefix}_${randomBytes(24).toString('base64url')}`;

const same = (a: string, b: string): boolean => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** Who a token speaks for. */
export type Principal =
  | { kind: 'account'; name: string; admin: boolean }
  | { kind: 'testbox'; hostname: string }
  | { kind: 'job'; jobId: number; hostname: string | null };

export async function principalOf(db: Db, token: string): Promise<Principal | undefined> {
  const h = tokenHash(token);
  const account = await db.selectFrom('accounts').select(['name', 'role', 'token_sha256']).where('token_sha256', '=', h).where('revoked_at', 'is', null).executeTakeFirst();
  if (account?.token_sha256 && same(account.token_sha256, h)) return { kind: 'account', name: account.name, admin: account.role === 'admin' };
  const box = await db.selectFrom('testboxes').select(['hostname', 'token_sha256']).where('token_sha256', '=', h).executeTakeFirst();
  if (box?.token_sha256 && same(box.token_sha256, h)) return { kind: 'testbox', hostname: box.hostname };
  const job = await db.selectFrom('jobs').select(['id', 'assigned', 'job_token_sha256']).where('job_token_sha256', '=', h).where('stage', 'in', ACTIVE_STAGES).executeTakeFirst();
  if (job?.job_token_sha256 && same(job.job_token_sha256, h)) return { kind: 'job', jobId: Number(job.id), hostname: job.assigned };
  return undefined;
}

export interface AccountInfo {
  name: string;
  email: string | null;
  role: 'user' | 'admin';
  /** Whether it has a live token (an account that only ever submitted has none). */
  active: boolean;
  created_at: number | null;
  revoked_at: number | null;
}

/** Creates the account, or gives an existing one a new token; returns the token (shown once). */
export async function addAccount(db: Db, a: { name: string; email?: string | undefined; admin?: boolean | undefined }, now: number): Promise<string> {
  const token = newToken('sla');
  const row = { name: a.name, email: a.email ?? null, token_sha256: tokenHash(token), role: a.admin ? ('admin' as const) : ('user' as const), created_at: now, revoked_at: null };
  await db
    .insertInto('accounts')
    .values(row)
    .onConflict((oc) => oc.column('name').doUpdateSet({ email: row.email, token_sha256: row.token_sha256, role: row.role, created_at: now, revoked_at: null }))
    .execute();
  return token;
}

/** Revokes an account's token; false if it had none. Its jobs stay its own. */
export async function revokeAccount(db: Db, name: string, now: number): Promise<boolean> {
  const r = await db.updateTable('accounts').set({ revoked_at: now, token_sha256: null }).where('name', '=', name).where('token_sha256', 'is not', null).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function listAccounts(db: Db): Promise<AccountInfo[]> {
  const rows = await db.selectFrom('accounts').select(['name', 'email', 'role', 'token_sha256', 'created_at', 'revoked_at']).orderBy('name').execute();
  return rows.map((r) => ({ name: r.name, email: r.email, role: r.role, active: r.token_sha256 !== null, created_at: r.created_at == null ? null : Number(r.created_at), revoked_at: r.revoked_at == null ? null : Number(r.revoked_at) }));
}

/** Issues a testbox registration secret under a name (replacing one of that name); returns it (shown once). */
export async function issueSecret(db: Db, name: string, now: number): Promise<string> {
  const secret = newToken('sls');
  await db
    .insertInto('testbox_secrets')
    .values({ name, secret_sha256: tokenHash(secret), created_at: now, revoked_at: null })
    .onConflict((oc) => oc.column('name').doUpdateSet({ secret_sha256: tokenHash(secret), created_at: now, revoked_at: null }))
    .execute();
  return secret;
}

export async function revokeSecret(db: Db, name: string, now: number): Promise<boolean> {
  const r = await db.updateTable('testbox_secrets').set({ revoked_at: now }).where('name', '=', name).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function listSecrets(db: Db): Promise<{ name: string; created_at: number; revoked_at: number | null }[]> {
  const rows = await db.selectFrom('testbox_secrets').select(['name', 'created_at', 'revoked_at']).orderBy('name').execute();
  return rows.map((r) => ({ name: r.name, created_at: Number(r.created_at), revoked_at: r.revoked_at == null ? null : Number(r.revoked_at) }));
}

/** The name of the live secret this is, or undefined. */
export async function secretName(db: Db, secret: string): Promise<string | undefined> {
  const h = tokenHash(secret);
  const r = await db.selectFrom('testbox_secrets').select(['name', 'secret_sha256']).where('secret_sha256', '=', h).where('revoked_at', 'is', null).executeTakeFirst();
  return r && same(r.secret_sha256, h) ? r.name : undefined;
}

/** Gives a job its own token while a testbox holds it; returns the token. */
export async function issueJobToken(db: Db, jobId: number): Promise<string> {
  const token = newToken('slj');
  await db.updateTable('jobs').set({ job_token_sha256: tokenHash(token) }).where('id', '=', jobId).execute();
  return token;
}
