// What SQLite and PostgreSQL do differently, as one interface with one
// implementation per engine (dialects/sqlite.ts, dialects/postgres.ts).
// Everything else in the store, and everything above it, is written once
// against this: nothing outside store/ knows which engine it talks to.
import type { Kysely, SelectQueryBuilder, Transaction } from 'kysely';
import type { Database } from './schema.ts';
import type { JobRow } from './rows.ts';

/** A transaction, with signals sent only if (and when) it commits. */
export interface Tx {
  db: Transaction<Database>;
  /** The engine: row locks and the like, for the query modules of store/. */
  readonly dialect: Dialect;
  notify(channel: string, payload?: string): void;
  /** Runs fn after the commit (metrics, logs); never if the transaction rolls back. */
  after(fn: () => void): void;
}

/** What a dialect's claim needs of the store around it. */
export interface ClaimHost {
  tx<T>(fn: (t: Tx) => Promise<T>): Promise<T>;
  /** This process's mark on the signals it sends. */
  readonly origin: string;
  /** Wakes this process's waiters of a channel (signals another process sent are delivered by the store itself). */
  emitLocal(channel: string): void;
}

export interface Dialect {
  /** 'sqlite' or 'postgres', for health answers and logs. */
  readonly engine: 'sqlite' | 'postgres';
  readonly db: Kysely<Database>;
  /**
   * Only one server process uses the database (a SQLite file): whatever a
   * lease names that is not this process was left by a dead one.
   */
  readonly singleServer: boolean;
  /** Applies the migrations not yet applied; returns the versions it applied. */
  migrate(): Promise<number[]>;
  /** Locks the selected rows until the transaction ends (a plain select where writers are serialised anyway). */
  forUpdate<DB, TB extends keyof DB, O>(q: SelectQueryBuilder<DB, TB, O>): SelectQueryBuilder<DB, TB, O>;
  /** An error after which the whole transaction may simply be run again. */
  isRetryable(err: unknown): boolean;
  /** Hands a transaction's signals to the other servers, delivered when it commits (no-op with one server). */
  publish(trx: Transaction<Database>, message: string): Promise<void>;
  /** Receives the other servers' messages; onReconnect after a gap in which some may have been lost. */
  subscribe(onMessage: (message: string) => void, onReconnect: () => void): Promise<void>;
  /** Runs fn only if no other server runs the task `lockId` now; false if skipped. */
  exclusive(lockId: number, fn: () => Promise<void>): Promise<boolean>;
  /** Hands the testbox its best job (SPEC §6) with its 'boot' event, in one transaction. */
  claim(host: ClaimHost, hostname: string, now: number, deadline: number): Promise<JobRow | undefined>;
  close(): Promise<void>;
}

/** PostgreSQL delivers at most this many bytes per NOTIFY (8000), less a margin for the envelope. */
export const MAX_MESSAGE_BYTES = 7000;
