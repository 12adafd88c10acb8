// Testbox lifecycle: registration and heartbeats. A heartbeat answers with
// the jobs the scheduler believes the box holds, so a box drops a job that
// was cancelled or timed out under it.
import { NotFoundError, UserError } from '../errors.ts';
import { heartbeat, listTestboxes, registerTestbox, type TestboxInfo } from '../store/testboxes.ts';
import { jobIdsOnTestbox } from '../store/jobs.ts';
import type { HeartbeatReply, Testbox } from '../api/contract.ts';
import type { Ctx } from './context.ts';

const HOST = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export async function register(ctx: Ctx, info: TestboxInfo): Promise<{ heartbeat_interval: number }> {
  if (!HOST.test(info.hostname)) throw new UserError('bad_hostname', `testbox hostname ${JSON.stringify(info.hostname)} must match ${HOST}`);
  if (!['dc', 'vm', 'hw'].includes(info.type)) throw new UserError('bad_type', `testbox type must be dc, vm or hw, not ${info.type}`);
  await registerTestbox(ctx.store.db, { ...info, mac: info.mac ? info.mac.toLowerCase().replace(/-/g, ':') : null }, ctx.now());
  ctx.log.info({ testbox: info.hostname, type: info.type, arch: info.arch }, 'testbox registered');
  return { heartbeat_interval: ctx.config.timing.heartbeatInterval };
}

export async function beat(ctx: Ctx, hostname: string): Promise<HeartbeatReply> {
  if (!(await heartbeat(ctx.store.db, hostname, ctx.now()))) throw new NotFoundError('testbox', hostname);
  return { jobs: await jobIdsOnTestbox(ctx.store.db, hostname) };
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
      state: lost ? 'lost' : jobs.length > 0 ? 'busy' : 'idle',
      last_heartbeat: new Date(Number(b.last_heartbeat)).toISOString(),
      jobs,
    });
  }
  return out;
}
