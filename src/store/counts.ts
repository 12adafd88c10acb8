// The counts /metrics reads at every scrape: jobs by stage, builds, bisects
// and testboxes by state. One GROUP BY (or two) each, however many rows, and
// read from the database so several servers on one PostgreSQL report alike.
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { ACTIVE_STAGES } from '../model/lifecycle.ts';

type Db = Kysely<Database>;

const byKey = (rows: { k: string; n: number | string | bigint }[]): Record<string, number> => Object.fromEntries(rows.map((r) => [r.k, Number(r.n)]));

export async function countBuildsByState(db: Db): Promise<Record<string, number>> {
  return byKey(await db.selectFrom('builds').select(['state as k', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('state').execute());
}

export async function countBisectsByState(db: Db): Promise<Record<string, number>> {
  return byKey(await db.selectFrom('bisects').select(['state as k', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('state').execute());
}

/**
 * Testboxes as GET /api/testboxes names them: lost (no heartbeat within
 * lostAfter ms of now), else busy (holding a job in boot, running or
 * post_run), else idle.
 */
export async function countTestboxStates(db: Db, now: number, lostAfter: number): Promise<{ idle: number; busy: number; lost: number }> {
  const cutoff = now - lostAfter;
  const all = await db
    .selectFrom('testboxes')
    .select([(eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.sum<number>(eb.case().when('last_heartbeat', '<', cutoff).then(1).else(0).end()).as('lost')])
    .executeTakeFirstOrThrow();
  const busy = await db
    .selectFrom('jobs')
    .innerJoin('testboxes', 'testboxes.hostname', 'jobs.assigned')
    .select((eb) => eb.fn.count<number>('testboxes.hostname').distinct().as('n'))
    .where('jobs.stage', 'in', ACTIVE_STAGES)
    .where('testboxes.last_heartbeat', '>=', cutoff)
    .executeTakeFirstOrThrow();
  const lost = Number(all.lost ?? 0);
  const b = Number(busy.n);
  return { idle: Number(all.n) - lost - b, busy: b, lost };
}
