// The stacklab server: a fastify app over one Scheduler. Built from a
// LabConfig; start() listens and starts the sweeper, stop() drains both.
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { LabConfig } from '../config.ts';
import { Store } from '../store/db.ts';
import { Scheduler } from '../scheduler/scheduler.ts';
import { installErrorHandlers } from './errors.ts';
import { installAuth } from './auth.ts';
import { installJsonParser } from './body-limits.ts';
import { jobRoutes } from './routes/jobs.ts';
import { testboxRoutes } from './routes/testboxes.ts';
import { fileRoutes } from './routes/files.ts';
import { metaRoutes } from './routes/meta.ts';
import { buildRoutes } from './routes/builds.ts';
import { bootRoutes } from './routes/boot.ts';
import { bisectRoutes } from './routes/bisects.ts';
import { dashboardRoutes } from './routes/dashboard.ts';
import { compareRoutes } from './routes/compare.ts';
import { ErrorBody, TAGS } from './schemas.ts';
import { lockDatabase, sqliteFile } from './lock.ts';

export interface ServerHandle {
  app: FastifyInstance;
  scheduler: Scheduler;
  store: Store;
  /** The URL it listens on (after start). */
  url: string;
  start(): Promise<string>;
  stop(): Promise<void>;
}

export interface BuildOptions {
  /** pino log level, or false for no log. */
  logLevel?: string | false;
}

export async function buildServer(config: LabConfig, opts: BuildOptions = {}): Promise<ServerHandle> {
  // One server per SQLite file: the second is refused before it touches the database.
  const dbFile = sqliteFile(config.dbUrl);
  const lock = dbFile ? lockDatabase(dbFile) : undefined;
  let store: Store;
  try {
    store = await Store.open(config.dbUrl, { poolSize: config.dbPool });
  } catch (err) {
    lock?.release();
    throw err;
  }
  const app = Fastify({
    logger: opts.logLevel === false ? false : { level: opts.logLevel ?? 'info' },
    // Long-polls hold requests for up to a minute.
    requestTimeout: 0,
    keepAliveTimeout: 75_000,
    forceCloseConnections: true,
    trustProxy: config.trustProxy,
    ajv: { customOptions: { coerceTypes: 'array', useDefaults: true, removeAdditional: false } },
  });
  const scheduler = new Scheduler(store, config, app.log);
  installErrorHandlers(app);
  installAuth(app, scheduler, config.accounts);
  installJsonParser(app);
  app.addSchema(ErrorBody);

  await app.register(swagger, {
    openapi: {
      info: { title: 'stacklab', version: '0.1.0', description: 'Test-lab scheduler: jobs, software-stack builds, testboxes, bisection' },
      tags: [...TAGS],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(jobRoutes, { scheduler });
  await app.register(testboxRoutes, { scheduler });
  await app.register(fileRoutes, { scheduler });
  await app.register(metaRoutes, { scheduler });
  await app.register(buildRoutes, { scheduler });
  await app.register(bootRoutes, { scheduler });
  await app.register(bisectRoutes, { scheduler });
  await app.register(compareRoutes, { scheduler });
  await app.register(dashboardRoutes, { scheduler });

  const handle: ServerHandle = {
    app,
    scheduler,
    store,
    url: '',
    async start() {
      const address = await app.listen({ host: config.host, port: config.port });
      handle.url = address.replace('[::1]', '127.0.0.1');
      scheduler.start();
      return handle.url;
    },
    async stop() {
      await scheduler.stop();
      await app.close();
      await store.close();
      lock?.release();
    },
  };
  return handle;
}
