// What every scheduler operation needs: the store, the config, metrics, a
// logger and a clock (tests and benchmarks read the same clock).
import type { Store } from '../store/db.ts';
import type { LabConfig } from '../config.ts';
import type { SchedulerMetrics } from './metrics.ts';
import type { GitResolver } from '../stack/git.ts';

import type { Log } from '../util/log.ts';
import type { Background } from '../util/background.ts';

export type { Log } from '../util/log.ts';
export { silentLog } from '../util/log.ts';

export interface Ctx {
  store: Store;
  config: LabConfig;
  metrics: SchedulerMetrics;
  /** Resolves ss commits against per-upstream mirrors under <data>/git. */
  git: GitResolver;
  log: Log;
  now(): number;
  /** Work a request starts and does not wait for; stopping the scheduler waits for it. */
  background: Background;
}

