// What testboxes tell the scheduler about a job they hold: stage moves,
// result files (only into that job's result root) and the close.
import { createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import { ConflictError, NotFoundError, UserError } from '../errors.ts';
import { ACTIVE_STAGES, canReport, isActive, isTestboxHealth, stageDeadline, TESTBOX_HEALTHS } from '../model/lifecycle.ts';
import { chargeUpload, getJob, moveStage, type JobRow } from '../store/jobs.ts';
import { mustReportFor, OPEN, type Caller } from './access.ts';
import { countInfraFailure, finishInTx } from './finish.ts';
import { addEvent, countEvents } from '../store/events.ts';
import { requeueInTx } from './requeue.ts';
import { jobChannel } from '../store/notify.ts';
import type { Ctx } from './context.ts';
import type { Stats } from '../api/contract.ts';
import { parseStats } from '../model/stats.ts';
import { dmesgStats } from '../model/dmesg.ts';

/** The job, if `hostname` holds it now; otherwise a 404 or a 409 the agent acts on. */
export async function heldJob(ctx: Ctx, id: number, hostname: string, caller: Caller = OPEN): Promise<JobRow> {
  mustReportFor(caller, id, hostname);
  const row = await getJob(ctx.store.db, id);
  if (!row) throw new NotFoundError('job', id);
  if (row.assigned !== hostname) throw new ConflictError(`job ${id} is not held by testbox ${hostname}`, { job_id: id, testbox: hostname });
  if (!isActive(row.stage)) {
    throw new ConflictError(`job ${id} is already ${row.stage}${row.health ? ` (${row.health})` : ''}`, { job_id: id, job_stage: row.stage, job_health: row.health });
  }
  return row;
}

export async function reportStage(ctx: Ctx, id: number, hostname: string, stage: string, caller: Caller = OPEN): Promise<void> {
  const row = await heldJob(ctx, id, hostname, caller);
  if (row.stage === stage) return; // a retried report
  if (!canReport(row.stage, stage)) throw new ConflictError(`job ${id} cannot move from ${row.stage} to ${stage}`);
  const now = ctx.now();
  const moved = await ctx.store.tx(async (t) => {
    const ok = await moveStage(t.db, id, hostname, [row.stage], stage, now, stageDeadline(stage, now, row.runtime, ctx.config.deadlines));
    if (ok) {
      await addEvent(t.db, id, stage, now, { testbox: hostname });
      t.notify(jobChannel(id));
    }
    return ok;
  });
  if (!moved) throw new ConflictError(`job ${id} changed meanwhile; it is no longer in ${row.stage}`);
}

/** A result file's path relative to the result root: no absolute, empty, . or .. parts. */
function checkResultPath(relPath: string): string[] {
  const parts = relPath.split('/');
  if (relPath === '' || relPath.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\0'))) {
    throw new UserError('bad_path', `result path ${JSON.stringify(relPath)} must be relative, without . or .. parts`);
  }
  if (relPath === 'job.yaml') throw new UserError('bad_path', 'job.yaml is written by the scheduler');
  return parts;
}

/** A result file's place inside the job's result root, or a refusal. */
function resultPath(ctx: Ctx, row: JobRow, relPath: string): string {
  const root = resolve(join(ctx.config.srvDir, row.result_root));
  const full = resolve(root, ...checkResultPath(relPath));
  if (!full.startsWith(root + sep)) throw new UserError('bad_path', `result path ${relPath} is outside the result root`);
  return full;
}

/** Streams an uploaded result file into place (a temporary file renamed at the end). */
export async function saveResultFile(ctx: Ctx, id: number, hostname: string, relPath: string, body: Readable, caller: Caller = OPEN): Promise<{ path: string; bytes: number }> {
  checkResultPath(relPath);
  const row = await heldJob(ctx, id, hostname, caller);
  const quota = ctx.config.lab.policy.max_result_bytes;
  const full = resultPath(ctx, row, relPath);
  await mkdir(dirname(full), { recursive: true });
  const tmp = `${full}.upload-${process.pid}-${Date.now()}`;
  let bytes = 0;
  const max = ctx.config.limits.maxUploadBytes;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      cb(bytes > max ? new UserError('too_large', `result file larger than ${max} bytes`, undefined, 413) : null, chunk);
    },
  });
  try {
    await pipeline(body, counter, createWriteStream(tmp));
    // A file uploaded again (a build log sent as it grows) is charged for what it adds, not twice.
    const before = await stat(full).then((st) => st.size, () => 0);
    if (!(await chargeUpload(ctx.store.db, id, bytes - before, quota))) {
      throw new UserError('too_large', `job ${id} would pass its upload quota of ${quota} bytes (lab.yaml max_result_bytes)`, { quota }, 413);
    }
    await rename(tmp, full);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return { path: `${row.result_root}/${relPath}`, bytes };
}

/**
 * The job's stats: stats.json from the result root (a dc testbox derives
 * it), else stats.txt parsed here (what a vm guest uploads: the suite's
 * parse output, or its run output, as text); and with a `dmesg` (a vm or
 * hw guest's kernel log, or the console of a kernel that died) the kernel's
 * errors in it as lkp's dmesg.* stats, written back into stats.json. A
 * malformed file counts as no stats.
 */
async function readStats(ctx: Ctx, row: JobRow): Promise<Stats | null> {
  const root = join(ctx.config.srvDir, row.result_root);
  let stats: Record<string, number> | null = null;
  let derived = false;
  try {
    const data = JSON.parse(await readFile(join(root, 'stats.json'), 'utf8')) as unknown;
    if (data && typeof data === 'object' && !Array.isArray(data)) {
      stats = {};
      for (const [k, v] of Object.entries(data)) if (typeof v === 'number' && Number.isFinite(v)) stats[k] = v;
    }
  } catch {
    const text = await readFile(join(root, 'stats.txt'), 'utf8').catch(() => undefined);
    if (text !== undefined) [stats, derived] = [parseStats(text, row.suite), true];
  }
  const kernel = dmesgStats(await readHead(join(root, 'dmesg'), DMESG_READ));
  const added = Object.keys(kernel).filter((k) => !(k in (stats ?? {})));
  if (added.length > 0) {
    stats = { ...stats, ...Object.fromEntries(added.map((k) => [k, kernel[k]!])) };
    derived = true;
  }
  if (stats && derived) await writeFile(join(root, 'stats.json'), JSON.stringify(stats, null, 1) + '\n').catch(() => {});
  return stats;
}

/** How much of a dmesg is read for its kernel errors: a console of a kernel that warned in a loop can be large. */
const DMESG_READ = 16 * 1024 * 1024;

/** The first `max` bytes of a file as text ('' when there is none). */
async function readHead(file: string, max: number): Promise<string> {
  const fh = await open(file, 'r').catch(() => undefined);
  if (!fh) return '';
  try {
    const buf = Buffer.alloc(Math.min(max, (await fh.stat()).size));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

/** Times a job the testbox closes `abnormal` before it started is handed out again before it finishes abnormal. */
const BOOT_RETRIES = 2;

export async function closeJob(ctx: Ctx, id: number, hostname: string, health: string, caller: Caller = OPEN): Promise<void> {
  if (!isTestboxHealth(health)) {
    throw new UserError('bad_health', `a testbox closes a job with one of ${TESTBOX_HEALTHS.join(', ')}, not ${health}`);
  }
  const row = await heldJob(ctx, id, hostname, caller);
  const stats = await readStats(ctx, row);
  const closed = await ctx.store.tx(async (t) => {
    const current = await getJob(t.db, id);
    if (!current) return false;
    // The box could not even start it (qemu did not start, a download failed): the lab's failure, tried again elsewhere or later.
    if (health === 'abnormal' && current.stage === 'boot' && (await countEvents(t.db, id, 'requeue')) < BOOT_RETRIES) {
      const reason = `testbox ${hostname} could not start it (an infrastructure failure)`;
      await countInfraFailure(ctx, t, current, reason);
      return requeueInTx(ctx, t, current, hostname, reason);
    }
    // A build the box closes abnormal could not fetch or check out its upstream: more often the upstream's failure than the box's.
    const boxBlameless = current.build_key != null;
    return finishInTx(ctx, t, current, { health, stats, from: ACTIVE_STAGES, detail: { testbox: hostname }, boxBlameless });
  });
  if (!closed) throw new ConflictError(`job ${id} was finished meanwhile`);
}
