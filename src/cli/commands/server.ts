// `stacklab server` and `stacklab up`: the scheduler, alone or with local testboxes.
import { join } from 'node:path';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { pino } from 'pino';
import { buildConfig, labDirOf } from '../../config.ts';
import { ensureDemoUpstream } from '../../demo/upstream.ts';
import { buildServer, type ServerHandle } from '../../server/app.ts';
import { Agent } from '../../testbox/agent.ts';
import { addAccount, issueSecret, listAccounts } from '../../store/credentials.ts';
import { out, printJson } from '../common.ts';
import { absolutePath, port, positiveInt } from '../options.ts';

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
    .option('--data <dir>', 'data directory: database, artifacts, results (default $STACKLAB_DATA or ./.data)', absolutePath)
    .option('--lab <dir>', 'lab directory (default $STACKLAB_LAB or the shipped examples/lab)', absolutePath)
    .option('--port <port>', 'port to listen on; 0 picks a free one (default $STACKLAB_PORT or 3000)', port)
    .option('--host <host>', 'address to bind (default 127.0.0.1)')
    .option('--trust-proxy', 'behind a TLS reverse proxy: believe its X-Forwarded-Proto/-Host (default $STACKLAB_TRUST_PROXY)')
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
    .option('--db <url>', 'database: a SQLite file (default <data>/stacklab.db) or postgres://… (default $STACKLAB_DB)')
    .option('--db-pool <n>', 'PostgreSQL connections per server (default $STACKLAB_DB_POOL or 10)', positiveInt)
    .option('--log-level <level>', 'log level (info)')
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
    .description('server plus N local dc testboxes in one command')
    .option('--testboxes <n>', 'local testboxes to start', positiveInt, 2)
    .option('--log-level <level>', 'log level (warn)')
    .action(async (flags: ServerFlags & { testboxes: number }) => {
      const n = flags.testboxes;
      await ensureDemoUpstream(labDirOf(flags));
      const server = await startServer(flags, 'warn');
      const admin = await firstAdmin(server);
      const agents = await startLocalTestboxes(server, n, flags.logLevel ?? 'warn');
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

/** N dc testboxes in this process, each with its own work directory under <data>/testbox. */
export async function startLocalTestboxes(server: ServerHandle, n: number, logLevel: string): Promise<Agent[]> {
  const cfg = server.scheduler.ctx.config;
  const log = pino({ level: logLevel });
  // With accounts on, the local boxes register with a secret of their own, issued now.
  const secret = cfg.accounts ? await issueSecret(server.store.db, 'local-up', Date.now()) : undefined;
  const agents: Agent[] = [];
  for (let i = 1; i <= n; i++) {
    const name = `${hostname().split('.')[0]}-dc-${i}`;
    const agent = new Agent({ server: server.url, hostname: name, type: 'dc', workdir: join(cfg.dataDir, 'testbox', name), log: log.child({ testbox: name }), secret });
    await agent.start();
    agents.push(agent);
  }
  return agents;
}
