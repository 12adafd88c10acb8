// What every scheduler operation needs: the store, the config, metrics, a
// logger and a clock (tests and benchmarks read the same clock).
import type { Store } from '../store/db.ts';
import type { LabConfig } from '../config.ts';
import type { SchedulerMetrics } from './metrics.ts';
import type { GitResolver } from '../stack/git.ts';

/** The subset of pino's interface the scheduler uses. */
export interface Log {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
  debug(obj: unknown, msg?: string): void;
}

export interface Ctx {
  store: Store;
  config: LabConfig;
  metrics: SchedulerMetrics;
  /** Resolves ss commits against per-upstream mirrors under <data>/git. */
  git: GitResolver;
  log: Log;
  now(): number;
}

export const silentLog: Log = { info() {}, warn() {}, error() {}, debug() {} };
