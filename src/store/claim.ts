// The claim's queries for an engine whose transactions are serialised
// (SQLite, dialects/sqlite.ts): the box with the memory its jobs take, and
// the hand-over of the best dispatchable job, inside the caller's
// transaction. The rule they follow is model/match.ts — the one place the
// dispatch order is defined; this file and PostgreSQL's stacklab_claim
// (migrations/003) implement it in SQL, and the claim test holds both to it.
import { ACTIVE_STAGES } from '../model/lifecycle.ts';
import { pickAmongAccounts } from '../model/match.ts';
import type { Db } from './jobs.ts';
import { decodeJob, type JobRow } from './rows.ts';
import { markBuilding } from './builds.ts';
import { memoryInUse } from './testboxes.ts';

export interface BoxState {
  hostname: string;
  type: string;
  arch: string;
  max_memory: number;
  /** GiB taken by the jobs the box holds. */
  used: number;
  /** Out of dispatch: it takes only a health-check job pinned to it. */
  disabled: boolean;
}

/** The testbox with the memory its jobs take. */
export async function boxState(db: Db, hostname: string): Promise<BoxState | undefined> {
  const row = await db
    .selectFrom('testboxes as t')
    .select(['t.hostname', 't.type', 't.arch', 't.max_memory', 't.disabled_reason'])
    .select((eb) => memoryInUse(eb).as('used'))
    .where('t.hostname', '=', hostname)
    .executeTakeFirst();
  if (!row) return undefined;
  const { disabled_reason, ...box } = row;
  return { ...box, used: Number(row.used ?? 0), disabled: disabled_reason != null };
}

/** The advisory lock PostgreSQL's claim takes per box (migrations/003), so two servers claiming for one box run one after the other. */
export const BOX_LOCK = 7_246_312;

export interface Claim {
  box: BoxState;
  now: number;
  deadline: number;
}

/** Claims the box's best job and records the 'boot' event, inside the caller's (serialised) transaction. */
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
        .where((eb) => eb.or([eb('j.pinned_host', 'is', null), eb('j.pinned_host', '=', c.box.hostname)]))
        .$if(c.box.disabled, (q) => q.where('j.health_check', '=', 1).where('j.pinned_host', '=', c.box.hostname))
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
  if (!row) return undefined;
  await db.insertInto('events').values({ job_id: chosen.id, time: c.now, kind: 'boot', detail }).execute();
  if (row.build_key) await markBuilding(db, row.build_key, chosen.id, c.now);
  return decodeJob(row);
}
