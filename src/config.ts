// LabConfig: the one options object, built once at start-up from command-line
// options, the environment (read here and nowhere else) and the lab's policy.
import { existsSync, readFileSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { Lab } from './lab.ts';
import { UserError } from './errors.ts';
import type { Deadlines } from './model/lifecycle.ts';
import type { JobDefaults } from './model/job.ts';

export type { JobDefaults } from './model/job.ts';

export interface ServerOptions {
  data?: string | undefined;
  lab?: string | undefined;
  db?: string | undefined;
  dbPool?: number | string | undefined;
  host?: string | undefined;
  port?: number | string | undefined;
  /** Behind a reverse proxy: take the client's scheme and host from X-Forwarded-* headers. */
  trustProxy?: boolean | undefined;
}

export interface Timing {
  heartbeatInterval: number;
  testboxLostAfter: number;
  sweepInterval: number;
  /** Longest a testbox's long-poll for work is held. */
  longPollMax: number;
}

export interface LabConfig {
  dataDir: string;
  /** Where results and artifacts live: <data>/srv. */
  srvDir: string;
  lab: Lab;
  dbUrl: string;
  /** PostgreSQL connection pool size per server. */
  dbPool: number;
  host: string;
  port: number;
  timing: Timing;
  deadlines: Deadlines;
  defaults: JobDefaults;
  limits: { maxUploadBytes: number; maxJobsPerSubmit: number };
  /** Accounts and tokens are checked: the lab asks for it, or the server listens beyond loopback. */
  accounts: boolean;
  /** X-Forwarded-Proto/-Host are believed (a TLS proxy in front): the URLs the server hands out say https. */
  trustProxy: boolean;
}

/** Whether a listen address is reachable only from this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const DEFAULT_PORT = 3000;

/** The names stacklab uses for the machine's architecture (lkp-tests' spelling). */
export function hostArch(): string {
  const map: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', riscv64: 'riscv64', ppc64: 'ppc64le', s390x: 's390x', loong64: 'loongarch64' };
  return map[process.arch] ?? process.arch;
}

/** The server host's os and version from /etc/os-release (ID, VERSION_ID). */
export function hostOs(): { os: string; os_version: string } {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    const get = (k: string) => text.match(new RegExp(`^${k}="?([^"\\n]*)"?$`, 'm'))?.[1];
    return { os: get('ID') || 'linux', os_version: get('VERSION_ID') || 'unknown' };
  } catch {
    return { os: 'linux', os_version: 'unknown' };
  }
}

/** The account token a CLI command sends when none is given ($STACKLAB_TOKEN). */
export const envToken = (env: NodeJS.ProcessEnv = process.env): string | undefined => env.STACKLAB_TOKEN || undefined;

/** The secret a testbox registers with when none is given ($STACKLAB_TESTBOX_SECRET). */
export const envTestboxSecret = (env: NodeJS.ProcessEnv = process.env): string | undefined => env.STACKLAB_TESTBOX_SECRET || undefined;

export function defaultServerUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.STACKLAB_SERVER || `http://127.0.0.1:${DEFAULT_PORT}`;
}

/** The lkp-tests tree a user's own tools use ($LKP_SRC), if any: job files then expand as lkp expands them. */
export function defaultLkpSrc(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.LKP_SRC || undefined;
}

export function buildConfig(opts: ServerOptions, env: NodeJS.ProcessEnv = process.env): LabConfig {
  const dataDir = resolve(opts.data ?? env.STACKLAB_DATA ?? '.data');
  const labDir = labDirOf(opts, env);
  const lab = new Lab(labDir);
  const p = lab.policy;
  const s = (sec: number) => Math.round(sec * 1000);
  const os = hostOs();
  const host = opts.host ?? env.STACKLAB_HOST ?? '127.0.0.1';
  const port = Number(opts.port ?? env.STACKLAB_PORT ?? DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError('bad_usage', `the port must be a whole number from 0 to 65535, not ${JSON.stringify(opts.port ?? env.STACKLAB_PORT)}`);
  const dbPool = Number(opts.dbPool ?? env.STACKLAB_DB_POOL ?? 10);
  if (!Number.isInteger(dbPool) || dbPool < 1) throw new UserError('bad_usage', `the PostgreSQL pool size must be a positive whole number, not ${JSON.stringify(opts.dbPool ?? env.STACKLAB_DB_POOL)}`);
  return {
    dataDir,
    srvDir: join(dataDir, 'srv'),
    lab,
    dbUrl: opts.db ?? env.STACKLAB_DB ?? join(dataDir, 'stacklab.db'),
    dbPool,
    host,
    port,
    timing: {
      heartbeatInterval: s(p.heartbeat_interval),
      testboxLostAfter: s(p.testbox_lost_after),
      sweepInterval: s(p.sweep_interval),
      longPollMax: 60_000,
    },
    deadlines: { bootTimeout: s(p.boot_timeout), runningGrace: s(p.running_grace), postRunTimeout: s(p.post_run_timeout) },
    defaults: {
      testbox: p.default_testbox,
      os: p.os ?? os.os,
      os_version: p.os_version ?? os.os_version,
      os_arch: hostArch(),
      memory_minimum: 1,
      runtime: 3600,
      priority: 0,
      my_account: 'default',
    },
    limits: { maxUploadBytes: 4 * 1024 ** 3, maxJobsPerSubmit: 10_000 },
    accounts: p.accounts || !isLoopback(host),
    trustProxy: opts.trustProxy ?? /^(1|true|yes)$/i.test(env.STACKLAB_TRUST_PROXY ?? ''),
  };
}

/** The lab a server with these options uses: --lab, $STACKLAB_LAB, or the shipped example lab. */
export function labDirOf(opts: Pick<ServerOptions, 'lab'>, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(opts.lab ?? env.STACKLAB_LAB ?? defaultLabDir());
}

/** The example lab shipped with stacklab, used when no --lab is given. */
export function defaultLabDir(): string {
  const shipped = resolve(import.meta.dirname, '..', 'examples', 'lab');
  return existsSync(shipped) ? shipped : resolve('lab');
}
