// `stacklab server` and `stacklab up`: the scheduler, alone or with local testboxes.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { pino } from 'pino';
import { buildConfig, hostArch, labDirOf } from '../../config.ts';
import { osImagePath } from '../../artifacts/layout.ts';
import { installOsImage } from '../../vm/os-image.ts';
import { ensureDemoUpstream } from '../../demo/upstream.ts';
import { DEFAULT_TARBALL, ensureKernelUpstream } from '../../demo/kernel-history.ts';
import { buildServer, type ServerHandle } from '../../server/app.ts';
import { Agent } from '../../testbox/agent.ts';
import { addAccount, issueSecret, listAccounts } from '../../store/credentials.ts';
import { out, printJson } from '../common.ts';
import { absolutePath, buildEnvPair, integer, logLevel, matching, port, positiveInt } from '../options.ts';

const nonNegativeInt = integer(0);

interface ServerFlags {
  data?: string;
  lab?: string;
  db?: string;
  dbPool?: number;
  port?: number;
  host?: string;
  trustProxy?: boolean;
  logLevel?: string;
  json?: boolean;
}

function serverOptions(cmd: Command): Command {
  return cmd
    .option('--data <dir>', 'data directory: database, artifacts, results (default: $STACKLAB_DATA or ./.data)', absolutePath)
    .option('--lab <dir>', 'lab directory (default: $STACKLAB_LAB or the shipped examples/lab)', absolutePath)
    .option('--port <port>', 'port to listen on; 0 picks a free one (default: $STACKLAB_PORT or 3000)', port)
    .option('--host <host>', 'address to bind (default: $STACKLAB_HOST or 127.0.0.1)', matching(/^[A-Za-z0-9._:-]{1,253}$/, 'an address or host name such as 127.0.0.1, 0.0.0.0 or ::'))
    .option('--trust-proxy', 'behind a TLS reverse proxy: believe its X-Forwarded-Proto/-Host (default: $STACKLAB_TRUST_PROXY)')
    .option('--json', 'print the listening address as JSON');
}

/** Stops everything on the first SIGINT/SIGTERM; resolves when stopped. */
function untilSignal(stop: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const handler = () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      void stop().finally(resolve);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}

async function startServer(flags: ServerFlags, defaultLog: string): Promise<ServerHandle> {
  const config = buildConfig({ data: flags.data, lab: flags.lab, db: flags.db, dbPool: flags.dbPool, port: flags.port, host: flags.host, trustProxy: flags.trustProxy });
  const server = await buildServer(config, { logLevel: flags.logLevel ?? defaultLog });
  await server.start();
  return server;
}

export function registerServer(program: Command): void {
  serverOptions(program.command('server'))
    .description('run the scheduler (SQLite by default, or --db postgres://…)')
    .option('--db <url>', 'database: a SQLite file (default: <data>/stacklab.db) or postgres://… (default: $STACKLAB_DB)')
    .option('--db-pool <n>', 'PostgreSQL connections per server (default: $STACKLAB_DB_POOL or 10)', positiveInt)
    .option('--log-level <level>', 'log level: fatal, error, warn, info, debug, trace or silent (default: info)', logLevel)
    .action(async (flags: ServerFlags) => {
      const server = await startServer(flags, 'info');
      // Listening for the signal before saying it is up: a SIGTERM right after the announcement still stops it cleanly (its lock removed).
      const stopped = untilSignal(() => server.stop());
      const cfg = server.scheduler.ctx.config;
      if (flags.json) printJson({ url: server.url, data: cfg.dataDir, lab: cfg.lab.dir, db: server.store.engine });
      else out(`stacklab server listening on ${server.url} (data ${cfg.dataDir}, lab ${cfg.lab.dir}, ${server.store.engine})`);
      await stopped;
    });

  serverOptions(program.command('up'))
    .description('server plus N local dc testboxes (and M vm testboxes) in one command')
    .option('--testboxes <n>', 'local dc testboxes to start', positiveInt, 2)
    .option('--vm <n>', 'local vm testboxes to start (qemu; the os image is made first if the lab has none)', nonNegativeInt, 0)
    .option('--vm-group <group>', 'the testbox group the vm boxes stand for: their size (vm-<cpus>p<GiB>g)', 'vm-2p8g')
    .option('--build-env <NAME=VALUE>', 'a variable for every build the dc testboxes make (repeatable; as testbox --build-env): keep_trees=2, CCACHE_MAXSIZE=20G', buildEnvPair)
    .option('--log-level <level>', 'log level: fatal, error, warn, info, debug, trace or silent (default: warn)', logLevel)
    .action(async (flags: ServerFlags & { testboxes: number; vm: number; vmGroup: string; buildEnv?: Record<string, string> }) => {
      const n = flags.testboxes;
      await ensureDemoUpstream(labDirOf(flags));
      if (flags.vm > 0) await kernelUpstream(labDirOf(flags), !flags.json);
      const server = await startServer(flags, 'warn');
      const admin = await firstAdmin(server);
      const agents = await startLocalTestboxes(server, n, flags.logLevel ?? 'warn', flags.buildEnv);
      if (flags.vm > 0) agents.push(...(await startLocalVms(server, flags.vm, flags.vmGroup, flags.logLevel ?? 'warn', !flags.json)));
      const stopped = untilSignal(async () => {
        await Promise.all(agents.map((a) => a.stop()));
        await server.stop();
      });
      const cfg = server.scheduler.ctx.config;
      if (flags.json) printJson({ url: server.url, data: cfg.dataDir, lab: cfg.lab.dir, testboxes: agents.map((a) => a.hostname), ...(admin ? { admin } : {}) });
      else {
        out(`stacklab is up on ${server.url}`);
        if (admin) out(`  accounts  on; a first account was made: ${admin.name} (admin), token ${admin.token} — shown once`);
        out(`  data      ${cfg.dataDir}`);
        out(`  lab       ${cfg.lab.dir} (suites: ${cfg.lab.suites().join(', ')})`);
        out(`  testboxes ${agents.map((a) => a.hostname).join(', ')}`);
        out('');
        out(`Try:  STACKLAB_SERVER=${server.url} npx stacklab submit examples/jobs/host-info.yaml -m`);
        out('Stop with Ctrl-C.');
      }
      await stopped;
    });
}

/** With accounts on and no admin yet, `up` makes one (its token is shown once), so the lab it starts can be used at once. */
async function firstAdmin(server: ServerHandle): Promise<{ name: string; token: string } | undefined> {
  if (!server.scheduler.ctx.config.accounts) return undefined;
  const accounts = await listAccounts(server.store.db);
  if (accounts.some((a) => a.role === 'admin' && a.active)) return undefined;
  return { name: 'admin', token: await addAccount(server.store.db, { name: 'admin', admin: true }, Date.now()) };
}

/** With vm boxes, the lab's generated linux upstream (about a minute the first time); without linux-source, a warning. */
async function kernelUpstream(labDir: string, say: boolean): Promise<void> {
  if (!existsSync(DEFAULT_TARBALL)) {
    if (say) out(`note: ${DEFAULT_TARBALL} is missing (apt-get install linux-source-6.1): jobs of the lab's linux upstream cannot build`);
    return;
  }
  if (say) out('the lab\'s linux upstream: checking (generated from linux-source-6.1 the first time, about a minute) …');
  await ensureKernelUpstream(labDir);
}

/**
 * M vm testboxes in this process (qemu on this host), named after their
 * group; the lab's os image for this host's arch is made first when the
 * server has none.
 */
export async function startLocalVms(server: ServerHandle, m: number, group: string, logLevel: string, say: boolean): Promise<Agent[]> {
  const cfg = server.scheduler.ctx.config;
  const arch = hostArch();
  const { os, os_version: osVersion } = cfg.defaults;
  if (!existsSync(join(cfg.srvDir, osImagePath(os, arch, osVersion, 'current').slice(1)))) {
    if (say) out(`making the os image for ${os} ${osVersion} ${arch} (stacklab osimage) …`);
    await installOsImage(cfg.srvDir, { arch, os, osVersion, debCache: join(cfg.dataDir, 'debs') });
  }
  const log = pino({ level: logLevel });
  const secret = cfg.accounts ? await issueSecret(server.store.db, 'local-up-vm', Date.now()) : undefined;
  const agents: Agent[] = [];
  for (let i = 1; i <= m; i++) {
    const name = `${group}-${hostname().split('.')[0]}-${i}`;
    const agent = new Agent({ server: server.url, hostname: name, type: 'vm', workdir: join(cfg.dataDir, 'testbox', name), log: log.child({ testbox: name }), secret });
    await agent.start();
    agents.push(agent);
  }
  return agents;
}

/** N dc testboxes in this process, each with its own work directory under <data>/testbox. */
export async function startLocalTestboxes(server: ServerHandle, n: number, logLevel: string, buildEnv?: Record<string, string>): Promise<Agent[]> {
  const cfg = server.scheduler.ctx.config;
  const log = pino({ level: logLevel });
  // With accounts on, the local boxes register with a secret of their own, issued now.
  const secret = cfg.accounts ? await issueSecret(server.store.db, 'local-up', Date.now()) : undefined;
  const agents: Agent[] = [];
  for (let i = 1; i <= n; i++) {
    const name = `${hostname().split('.')[0]}-dc-${i}`;
    const agent = new Agent({ server: server.url, hostname: name, type: 'dc', workdir: join(cfg.dataDir, 'testbox', name), buildEnv, log: log.child({ testbox: name }), secret });
    await agent.start();
    agents.push(agent);
  }
  return agents;
}
