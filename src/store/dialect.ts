// Where SQLite and PostgreSQL must differ in queries, and only here. SQLite
// serialises writers (every transaction begins IMMEDIATE), so a row read in
// a transaction cannot change under it; on PostgreSQL the same guarantee
// needs an explicit row lock.
import type { SelectQueryBuilder } from 'kysely';
import type { Dialect } from './migrate.ts';

/** Locks the selected rows until the transaction ends (PostgreSQL); a plain select on SQLite. */
export function forUpdate<DB, TB extends keyof DB, O>(q: SelectQueryBuilder<DB, TB, O>, dialect: Dialect): SelectQueryBuilder<DB, TB, O> {
  return dialect === 'postgres' ? q.forUpdate() : q;
}

/** PostgreSQL errors after which the whole transaction may simply be run again. */
export function isRetryable(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return code === '40001' /* serialization_failure */ || code === '40P01' /* deadlock_detected */;
}
