// The claim: hand the best dispatchable job to a testbox, inside the
// caller's transaction. The order is model/match.ts's (priority, then the
// account with fewer jobs on testboxes, then the oldest job); the claim test
// holds both dialects to it.
//
// On PostgreSQL the claim is one call of the stacklab_claim function
// (migrations/postgres/003): the box's lock, each account's best job (one
// index seek per account), `FOR UPDATE SKIP LOCKED` on them in preference
// order — so servers claiming at once take different jobs without waiting
// on each other — the hand-over, its timeline entry and the NOTIFY, in one
// round trip. On SQLite the transaction is the only writer and the same
// steps are plain queries, the choice made by the reference function itself.
import { sql } from 'kysely';
import { ACTIVE_STAGES } from '../model/lifecycle.ts';
import { pickAmongAccounts } from '../model/match.ts';
import type { Dialect } from './migrate.ts';
import type { Db, JobRow } from './jobs.ts';
import type { Store } from './db.ts';
import { markBuilding } from './builds.ts';
import { jobChannel } from './notify.ts';

export interface BoxState {
  hostname: string;
  type: string;
  arch: string;
  max_memory: number;
  /** GiB taken by the jobs the box holds. */
  used: number;
}

/**
 * The testbox with the memory its jobs take. On PostgreSQL it first takes a
 * transaction lock on the box (an advisory lock: no row is written), so two
 * servers claiming for one box run one after the other, the second seeing
 * the first's job in the memory it counts.
 */
export async function boxState(db: Db, dialect: Dialect, hostname: string): Promise<BoxState | undefined> {
  if (dialect === 'postgres') await sql`SELECT pg_advisory_xact_lock(${BOX_LOCK}, hashtext(${hostname}))`.execute(db);
  const row = await db
    .selectFrom('testboxes as t')
    .select(['t.hostname', 't.type', 't.arch', 't.max_memory'])
    .select((eb) =>
      eb
        .selectFrom('jobs')
        .select((e2) => e2.fn.coalesce(e2.fn.sum<number>('memory_minimum'), e2.lit(0)).as('s'))
        .whereRef('jobs.assigned', '=', 't.hostname')
        .where('jobs.stage', 'in', ACTIVE_STAGES)
        .as('used'),
    )
    .where('t.hostname', '=', hostname)
    .executeTakeFirst();
  return row ? { ...row, used: Number(row.used ?? 0) } : undefined;
}

const BOX_LOCK = 7_246_312;

export interface Claim {
  box: BoxState;
  now: number;
  deadline: number;
}

/** SQLite: claims the box's best job and records the 'boot' event, inside the caller's transaction. */
export async function claimNext(db: Db, c: Claim): Promise<JobRow | undefined> {
  const free = c.box.max_memory - c.box.used;
  if (free <= 0) return undefined;
  const detail = JSON.stringify({ testbox: c.box.hostname });
  const best = await db
    .selectFrom('accounts as a')
    .select((sb) =>
      sb
        .selectFrom('jobs as j')
        .select('j.id')
        .whereRef('j.account', '=', 'a.name')
        .where('j.tbox_type', '=', c.box.type)
        .where('j.arch', '=', c.box.arch)
        .where('j.stage', '=', 'submit')
        .where('j.deps_pending', '=', 0)
        .where('j.memory_minimum', '<=', free)
        .orderBy('j.priority', 'desc')
        .orderBy('j.id', 'asc')
        .limit(1)
        .as('id'),
    )
    .select((sb) => sb.selectFrom('jobs as r').select((e) => e.fn.countAll<number>().as('n')).whereRef('r.account', '=', 'a.name').where('r.stage', 'in', ACTIVE_STAGES).as('active'))
    .select('a.name')
    .execute();
  const found = best.filter((b) => b.id != null);
  if (found.length === 0) return undefined;
  // No stage re-check here: it would make SQLite's planner scan every queued job; nothing else writes meanwhile.
  const candidates = await db
    .selectFrom('jobs')
    .select(['id', 'account', 'tbox_type', 'arch', 'memory_minimum', 'priority'])
    .where('id', 'in', found.map((b) => Number(b.id)))
    .execute();
  const chosen = pickAmongAccounts(candidates, new Map(found.map((b) => [b.name, Number(b.active ?? 0)])));
  if (!chosen) return undefined;
  const row = await db
    .updateTable('jobs')
    .set({ stage: 'boot', assigned: c.box.hostname, boot_time: c.now, deadline: c.deadline })
    .where('id', '=', chosen.id)
    .where('stage', '=', 'submit')
    .where('deps_pending', '=', 0)
    .returningAll()
    .executeTakeFirst();
  if (row) {
    await db.insertInto('events').values({ job_id: chosen.id, time: c.now, kind: 'boot', detail }).execute();
    if (row.build_key) await markBuilding(db, row.build_key, chosen.id, c.now);
  }
  return row;
}

/**
 * Hands the testbox its best job, records the 'boot' event, marks a
 * pkgbuild job's build as building and wakes the job's followers:
 * undefined if there is nothing for the box.
 */
export async function claim(store: Store, hostname: string, now: number, deadline: number): Promise<JobRow | undefined> {
  if (store.dialect === 'postgres') {
    const { rows } = await sql<JobRow>`SELECT * FROM stacklab_claim(${hostname}, ${now}, ${deadline}, ${store.origin})`.execute(store.db);
    const row = rows[0];
    if (!row) return undefined;
    store.notifier.emit(jobChannel(Number(row.id)));
    return { ...row, id: Number(row.id) };
  }
  return store.tx(async (t) => {
    const box = await boxState(t.db, 'sqlite', hostname);
    if (!box) return undefined;
    const row = await claimNext(t.db, { box, now, deadline });
    if (row) t.notify(jobChannel(Number(row.id)));
    return row;
  });
}
