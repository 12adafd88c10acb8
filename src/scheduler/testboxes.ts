// Testbox lifecycle: registration and heartbeats. A box that registers again
// is a new incarnation: whatever the old one held is ended (abnormal, and a
// build is retried), so a restart heals at once. With accounts on, a box
// registers with a lab-issued secret and gets a token of its own; a live
// box's name cannot be taken by another registration. A heartbeat tells the
// jobs the box runs and answers the jobs the scheduler believes it holds:
// the box drops what it no longer holds, and the scheduler ends what the box
// no longer runs.
import { ConflictError, NotFoundError, UserError } from '../errors.ts';
import { enableTestbox, getTestbox, heartbeat, listTestboxes, registerTestbox, type TestboxInfo } from '../store/testboxes.ts';
import { dispatchChannel } from '../store/notify.ts';
import { getJob, jobsOnTestbox, jobIdsOnTestbox } from '../store/jobs.ts';
import { newToken, secretName, tokenHash } from '../store/credentials.ts';
import type { HeartbeatReply, Registered, Testbox } from '../api/contract.ts';
import type { Ctx } from './context.ts';
import { finishInTx } from './finish.ts';
import { requeueInTx } from './requeue.ts';
import { accountOf, mustBeTestbox, type Caller } from './access.ts';

const HOST = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** How long a job handed to a box may not yet be among the jobs it reports running (its hand-over still on the way). */
const IN_FLIGHT_MS = 10_000;

export interface Credentials {
  secret?: string | undefined;
  token?: string | undefined;
}

export async function register(ctx: Ctx, info: TestboxInfo, cred: Credentials = {}): Promise<Registered> {
  if (!HOST.test(info.hostname)) throw new UserError('bad_hostname', `testbox hostname ${JSON.stringify(info.hostname)} must match ${HOST}`);
  if (!['dc', 'vm', 'hw'].includes(info.type)) throw new UserError('bad_type', `testbox type must be dc, vm or hw, not ${info.type}`);
  const now = ctx.now();
  let issued: { token: string; secret_name: string } | undefined;
  if (ctx.config.accounts) {
    const name = cred.secret ? await secretName(ctx.store.db, cred.secret) : undefined;
    if (!name) throw new UserError('unauthorized', 'a testbox registers with a secret the lab issued (stacklab secret issue NAME; --secret or $STACKLAB_TESTBOX_SECRET)');
    const old = await getTestbox(ctx.store.db, info.hostname);
    const live = old && now - old.last_heartbeat <= ctx.config.timing.testboxLostAfter;
    if (live && !(cred.token && old.token_sha256 === tokenHash(cred.token))) {
      throw new ConflictError(`testbox ${info.hostname} is live (its last heartbeat was ${Math.round((now - old.last_heartbeat) / 1000)} s ago); another box cannot take its name`, { testbox: info.hostname });
    }
    issued = { token: newToken('slt'), secret_name: name };
  }
  const ended = await endPreviousIncarnation(ctx, info.hostname);
  await registerTestbox(ctx.store.db, { ...info, mac: info.mac ? info.mac.toLowerCase().replace(/-/g, ':') : null }, now, issued ? { token_sha256: tokenHash(issued.token), secret_name: issued.secret_name } : null);
  ctx.log.info({ testbox: info.hostname, type: info.type, arch: info.arch, ended }, 'testbox registered');
  return { heartbeat_interval: ctx.config.timing.heartbeatInterval, ended, ...(issued ? { token: issued.token } : {}) };
}

/**
 * A registration is a new incarnation of the box: the jobs the old one held
 * will never be reported on. One it never started (boot) is handed out
 * again; one it was running is ended abnormal (a build is retried).
 */
async function endPreviousIncarnation(ctx: Ctx, hostname: string): Promise<number[]> {
  const ended: number[] = [];
  for (const row of await jobsOnTestbox(ctx.store.db, hostname)) {
    const reason = `testbox ${hostname} registered again: its previous incarnation is gone`;
    const done = await ctx.store.tx(async (t) => {
      const current = await getJob(t.db, row.id);
      if (!current || current.stage !== row.stage || current.assigned !== hostname) return false;
      if (current.stage === 'boot') return requeueInTx(ctx, t, current, hostname, reason);
      return finishInTx(ctx, t, current, { health: 'abnormal', from: [row.stage], detail: { reason, stage: row.stage, testbox: hostname }, boxBlameless: true });
    });
    if (done) ended.push(row.id);
  }
  return ended;
}

/**
 * A heartbeat. With `running` (the jobs the box runs), a job the scheduler
 * believes the box holds but the box does not run — and was handed over long
 * enough ago that it is not merely in flight (the answer of a long-poll lost
 * when a server died mid-reply is the case) — is handed out again if it was
 * never started (boot), or ended abnormal if it was (a build is retried),
 * instead of waiting for its deadline.
 */
export async function beat(ctx: Ctx, hostname: string, caller: Caller, running?: number[]): Promise<HeartbeatReply> {
  mustBeTestbox(caller, hostname);
  const now = ctx.now();
  const before = await getTestbox(ctx.store.db, hostname);
  if (!(await heartbeat(ctx.store.db, hostname, now))) throw new NotFoundError('testbox', hostname);
  // A box heard again after it was lost (a hung or stopped machine that came back) gets no job while lost:
  // wake its own pending long-poll, so that it claims at once instead of when that poll ends.
  if (before && now - before.last_heartbeat > ctx.config.timing.testboxLostAfter) {
    await ctx.store.tx(async (t) => t.notify(dispatchChannel(before.type, before.arch)));
  }
  if (running) {
    const runs = new Set(running);
    const settled = now - Math.max(3 * ctx.config.timing.heartbeatInterval, IN_FLIGHT_MS);
    for (const row of await jobsOnTestbox(ctx.store.db, hostname)) {
      if (runs.has(row.id) || (row.boot_time ?? now) > settled) continue;
      await ctx.store.tx(async (t) => {
        const current = await getJob(t.db, row.id);
        if (!current || current.stage !== row.stage || current.assigned !== hostname) return;
        // Never started there (its hand-over was lost): handed out again. Started and lost: abnormal.
        if (current.stage === 'boot') await requeueInTx(ctx, t, current, hostname, `testbox ${hostname} never got it`);
        else await finishInTx(ctx, t, current, { health: 'abnormal', from: [row.stage], detail: { reason: `testbox ${hostname} no longer runs it`, stage: row.stage, testbox: hostname } });
      });
    }
  }
  return { jobs: await jobIdsOnTestbox(ctx.store.db, hostname) };
}

/** An admin puts a box taken out of dispatch back in; its long-polls are woken to take work at once. */
export async function enable(ctx: Ctx, hostname: string, caller: Caller): Promise<Testbox> {
  const a = accountOf(caller);
  if (a && !a.admin) throw new UserError('forbidden', `only an admin may bring testbox ${hostname} back into dispatch`, { testbox: hostname });
  const box = await getTestbox(ctx.store.db, hostname);
  if (!box) throw new NotFoundError('testbox', hostname);
  await ctx.store.tx(async (t) => {
    await enableTestbox(t.db, hostname);
    t.notify(dispatchChannel(box.type, box.arch));
  });
  ctx.log.info({ testbox: hostname, was: box.disabled_reason, by: a?.name }, 'testbox back in dispatch');
  return (await testboxStatus(ctx)).find((b) => b.hostname === hostname)!;
}

export async function testboxStatus(ctx: Ctx): Promise<Testbox[]> {
  const now = ctx.now();
  const out: Testbox[] = [];
  for (const b of await listTestboxes(ctx.store.db)) {
    const jobs = await jobIdsOnTestbox(ctx.store.db, b.hostname);
    const lost = now - Number(b.last_heartbeat) > ctx.config.timing.testboxLostAfter;
    out.push({
      hostname: b.hostname,
      type: b.type,
      arch: b.arch,
      max_memory: b.max_memory,
      cpus: b.cpus,
      state: b.disabled_reason != null ? 'disabled' : lost ? 'lost' : jobs.length > 0 ? 'busy' : 'idle',
      last_heartbeat: new Date(Number(b.last_heartbeat)).toISOString(),
      jobs,
      infra_failures: Number(b.infra_failures),
      disabled_reason: b.disabled_reason,
      build_env: b.build_env ? (JSON.parse(b.build_env) as Record<string, string>) : {},
    });
  }
  return out;
}
