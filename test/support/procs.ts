// Real stacklab processes for integration tests: the server and testboxes
// run as `node bin/stacklab.js …` children on loopback, exactly as users run them.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = join(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'stacklab.js');

export interface Proc {
  child: ChildProcess;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function startProc(args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  return {
    child,
    output: () => text,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill(signal);
      await exited;
    },
  };
}

/** The first JSON value a process prints on stdout (the --json announcement of server, up, testbox). */
export function firstJson<T>(proc: Proc, what: string, timeoutMs = 20_000): Promise<T> {
  const lines = createInterface({ input: proc.child.stdout! });
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start:\n${proc.output()}`)), timeoutMs);
    let json = '';
    lines.on('line', (line) => {
      json += line;
      try {
        const value = JSON.parse(json) as T;
        clearTimeout(timer);
        lines.removeAllListeners('line'); // stop parsing; the stream keeps flowing into output()
        resolve(value);
      } catch {
        /* more lines of the JSON value to come */
      }
    });
    proc.child.once('exit', (code) => reject(new Error(`${what} exited ${code}:\n${proc.output()}`)));
  });
}

/** Starts `stacklab server --port 0 --json` and resolves with its URL. */
export async function startServer(opts: { data: string; lab: string; db?: string }): Promise<Proc & { url: string }> {
  const args = ['server', '--data', opts.data, '--lab', opts.lab, '--port', '0', '--json', '--log-level', 'warn'];
  if (opts.db) args.push('--db', opts.db);
  const proc = startProc(args);
  const { url } = await firstJson<{ url: string }>(proc, 'server');
  return { ...proc, url };
}

/** Starts `stacklab testbox` and resolves once it registered. */
export async function startTestbox(opts: { server: string; hostname: string; workdir: string; mem?: number; extra?: string[] }): Promise<Proc> {
  const proc = startProc([
    'testbox', '--server', opts.server, '--hostname', opts.hostname, '--workdir', opts.workdir,
    '--mem', String(opts.mem ?? 8), '--log-level', 'warn', ...(opts.extra ?? []),
  ]);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`testbox did not register:\n${proc.output()}`)), 20_000);
    const check = () => {
      if (proc.output().includes(`testbox ${opts.hostname} registered`)) {
        clearTimeout(timer);
        proc.child.stdout!.off('data', check);
        resolve();
      }
    };
    proc.child.stdout!.on('data', check);
    proc.child.once('exit', (code) => reject(new Error(`testbox exited ${code}:\n${proc.output()}`)));
  });
  return proc;
}

/** Runs the CLI to completion: exit code, stdout, stderr. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  return { code, stdout, stderr };
}
