// PostgreSQL, the engine for many servers: a connection pool, row locks
// (FOR UPDATE), advisory locks for the sweeper and the migrations, LISTEN /
// NOTIFY to carry signals between servers, the retry of deadlock and
// serialisation victims, and the claim as one call of the stacklab_claim
// function (migrations/003).
import { Kysely, PostgresDialect, sql, type SelectQueryBuilder, type Transaction } from 'kysely';
import pg from 'pg';
import type { Database } from '../schema.ts';
import type { ClaimHost, Dialect } from '../dialect.ts';
import { listMigrations } from '../migrate.ts';
import { decodeJob, type JobRow } from '../rows.ts';
import { jobChannel } from '../notify.ts';
import type { Selectable } from 'kysely';
import type { JobsTable } from '../schema.ts';

/** The channel every server LISTENs on. */
const PG_CHANNEL = 'stacklab';
const MIGRATION_LOCK = 7_246_310;

export interface PostgresOptions {
  /** Connections per server (default 10). */
  poolSize?: number | undefined;
  /** A stuck statement fails after this many ms instead of holding a connection (default 30 s). */
  statementTimeout?: number | undefined;
}

// BIGINT columns hold epoch ms and ids, all well inside 2^53: read them as numbers.
const pgTypes = {
  getTypeParser(oid: number, format?: string) {
    if (oid === 20) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as pg.CustomTypesConfig;

const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`;

export class PostgresStore implements Dialect {
  readonly engine = 'postgres' as const;
  readonly singleServer = false;
  readonly db: Kysely<Database>;
  readonly #url: string;
  #listener: pg.Client | undefined;
  #closed = false;

  constructor(url: string, opts: PostgresOptions = {}) {
    this.#url = url;
    const pool = new pg.Pool({
      connectionString: url,
      max: opts.poolSize ?? 10,
      types: pgTypes,
      statement_timeout: opts.statementTimeout ?? 30_000,
      connectionTimeoutMillis: 10_000,
      application_name: 'stacklab',
    });
    // An idle connection that PostgreSQL closes (a restart, an administrator) is
    // dropped from the pool and replaced on next use; without a listener the
    // pool would throw it as an uncaught error and take the server down.
    pool.on('error', () => {});
    this.db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  }

  async migrate(): Promise<number[]> {
    const applied: number[] = [];
    await this.db.connection().execute(async (conn) => {
      // Two servers starting together must not apply the same file twice.
      await sql`SELECT pg_advisory_lock(${MIGRATION_LOCK})`.execute(conn);
      try {
        await sql.raw(MIGRATIONS_TABLE).execute(conn);
        const rows = await conn.selectFrom('schema_migrations').select('version').execute();
        const done = new Set(rows.map((r) => Number(r.version)));
        for (const m of listMigrations('postgres')) {
          if (done.has(m.version)) continue;
          await conn.transaction().execute(async (trx) => {
            if (m.sql !== null) await sql.raw(m.sql).execute(trx);
            await trx.insertInto('schema_migrations').values({ version: m.version, name: m.name, applied_at: Date.now() }).execute();
          });
          applied.push(m.version);
        }
      } finally {
        await sql`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`.execute(conn);
      }
    });
    return applied;
  }

  forUpdate<DB, TB extends keyof DB, O>(q: SelectQueryBuilder<DB, TB, O>): SelectQueryBuilder<DB, TB, O> {
    return q.forUpdate();
  }

  isRetryable(err: unknown): boolean {
    const code = (err as { code?: string })?.code;
    return code === '40001' /* serialization_failure */ || code === '40P01' /* deadlock_detected */;
  }

  async publish(trx: Transaction<Database>, message: string): Promise<void> {
    await sql`SELECT pg_notify(${PG_CHANNEL}, ${message})`.execute(trx);
  }

  /**
   * One connection LISTENs for the other servers' signals. If it drops, it is
   * re-established with backoff, and onReconnect is called: waiters may have
   * missed a signal meanwhile (the database stays the truth).
   */
  async subscribe(onMessage: (message: string) => void, onReconnect: () => void, attempt = 0): Promise<void> {
    const client = new pg.Client({ connectionString: this.#url });
    const retry = () => {
      if (this.#closed || this.#listener !== client) return;
      this.#listener = undefined;
      client.end().catch(() => {});
      setTimeout(() => void this.subscribe(onMessage, onReconnect, attempt + 1).catch(() => {}), Math.min(5000, 100 * 2 ** attempt)).unref();
    };
    client.on('notification', (msg) => {
      if (msg.channel === PG_CHANNEL && msg.payload) onMessage(msg.payload);
    });
    client.on('error', retry);
    client.on('end', retry);
    this.#listener = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${PG_CHANNEL}`);
    } catch (err) {
      if (attempt === 0) throw err;
      retry();
      return;
    }
    if (attempt > 0) onReconnect();
  }

  async exclusive(lockId: number, fn: () => Promise<void>): Promise<boolean> {
    return this.db.connection().execute(async (conn) => {
      const { rows } = await sql<{ ok: boolean }>`SELECT pg_try_advisory_lock(${lockId}) AS ok`.execute(conn);
      if (!rows[0]?.ok) return false;
      try {
        await fn();
      } finally {
        await sql`SELECT pg_advisory_unlock(${lockId})`.execute(conn);
      }
      return true;
    });
  }

  /**
   * One round trip: the box's advisory lock, each account's best job,
   * FOR UPDATE SKIP LOCKED in preference order (servers claiming at once take
   * different jobs without waiting on each other), the hand-over, its event
   * and the NOTIFY to the job's followers on every server.
   */
  async claim(host: ClaimHost, hostname: string, now: number, deadline: number): Promise<JobRow | undefined> {
    const { rows } = await sql<Selectable<JobsTable>>`SELECT * FROM stacklab_claim(${hostname}, ${now}, ${deadline}, ${host.origin})`.execute(this.db);
    if (!rows[0]) return undefined;
    const row = decodeJob(rows[0]);
    // The function's NOTIFY carries our origin, which our own listener skips: wake local followers here.
    host.emitLocal(jobChannel(row.id));
    return row;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const listener = this.#listener;
    this.#listener = undefined;
    await listener?.end().catch(() => {});
    await this.db.destroy();
  }
}
