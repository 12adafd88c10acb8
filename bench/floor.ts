// The floors the timing benchmarks are held against: routes that do the
// least a request of the same shape can do over the same HTTP stack (same
// Fastify app, parser, hooks and loopback sockets), so a figure is read as
// "stacklab ÷ the bare thing, measured in the same minute" and not as an
// absolute time that moves with the neighbours on a shared machine.
//
// Registered only by the benchmarks on their own server instances (never by
// the production server): addFloorRoutes(handle.app) before start(), or
// `node bench/floor.ts --data D --lab L` for a server process of its own
// that prints {"url": …} like `stacklab server --json`.
import { spawn } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { buildConfig } from '../src/config.ts';
import { buildServer } from '../src/server/app.ts';

/** Shared by every server of this process: a wake sent to one wakes a wait on another, as NOTIFY does across servers. */
const bell = new EventEmitter();
bell.setMaxListeners(0);

export const FLOOR_WAIT = '/bench/floor/wait';
export const FLOOR_WAKE = '/bench/floor/wake';
export const FLOOR_SUBMIT = '/bench/floor/submit';

export function addFloorRoutes(app: FastifyInstance): void {
  const config = { access: 'public' as const };
  // The bare long-poll: waits for the next wake (or ?wait= seconds) and answers.
  app.get<{ Querystring: { wait?: string } }>(FLOOR_WAIT, { config }, async (request) => {
    const ms = Number(request.query.wait ?? 30) * 1000;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), ms);
    try {
      await once(bell, 'wake', { signal: ac.signal });
      return { woken: true };
    } catch {
      return { woken: false };
    } finally {
      clearTimeout(timer);
    }
  });
  app.post(FLOOR_WAKE, { config }, async () => {
    bell.emit('wake');
    return { ok: true };
  });
  // The no-op submit: the body parsed by the server's JSON parser, an answer of the submit's shape.
  app.post<{ Body: unknown }>(FLOOR_SUBMIT, { config }, async (request) => {
    const jobs = Array.isArray(request.body) ? request.body : [request.body];
    return jobs.map((_j, i) => ({ job_id: i, result_root: '' }));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { data: { type: 'string' }, lab: { type: 'string' }, db: { type: 'string' } } });
  const server = await buildServer(buildConfig({ data: values.data, lab: values.lab, db: values.db, port: 0 }), { logLevel: 'warn' });
  addFloorRoutes(server.app);
  await server.start();
  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
  const stop = () => void server.stop().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Starts `node bench/floor.ts` (a stacklab server process with the floor routes) and resolves with its URL. */
export async function startFloorServer(opts: { data: string; lab: string; db?: string }): Promise<{ url: string; kill(): Promise<void> }> {
  const args = [fileURLToPath(import.meta.url), '--data', opts.data, '--lab', opts.lab, ...(opts.db ? ['--db', opts.db] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise<string>((resolve, reject) => {
    lines.once('line', (line) => resolve((JSON.parse(line) as { url: string }).url));
    child.once('exit', (code) => reject(new Error(`bench/floor.ts exited ${code} before listening`)));
  });
  child.stdout.resume();
  return {
    url,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
