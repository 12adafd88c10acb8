// A Scheduler over a fresh database of either dialect and a lab made by the
// test, for store and scheduler tests that need no HTTP.
import { join } from 'node:path';
import { buildConfig, type LabConfig } from '../../src/config.ts';
import { Store } from '../../src/store/db.ts';
import { Scheduler } from '../../src/scheduler/scheduler.ts';
import { freshDb } from './db.ts';
import { makeLab, type LabDef } from './lab.ts';
import { tempDir } from './tmp.ts';
import type { Log } from '../../src/util/log.ts';

export interface TestScheduler {
  scheduler: Scheduler;
  store: Store;
  config: LabConfig;
  dir: string;
  /** The clock the scheduler reads; tests move it. */
  clock: { now: number };
  cleanup(): Promise<void>;
}

export const ECHO_SUITE = { run: '#!/bin/sh\necho "value: 1"\n' };

/** A scheduler over a fresh database; `lab` is a lab to make, or a function making one in the given dir. */
export async function makeScheduler(
  dialect: 'sqlite' | 'postgres',
  lab: LabDef | ((dir: string) => string) = { suites: { echo: ECHO_SUITE } },
  log?: Log,
): Promise<TestScheduler> {
  const t = tempDir();
  const db = await freshDb(dialect);
  const labDir = typeof lab === 'function' ? lab(t.dir) : makeLab(join(t.dir, 'lab'), lab);
  const config = buildConfig({ data: join(t.dir, 'data'), lab: labDir, db: db.url });
  const store = await Store.open(db.url);
  const clock = { now: Date.now() };
  const scheduler = new Scheduler(store, config, log, () => clock.now);
  return {
    scheduler,
    store,
    config,
    dir: t.dir,
    clock,
    async cleanup() {
      await scheduler.stop();
      await store.close();
      await db.cleanup();
      t.cleanup();
    },
  };
}
