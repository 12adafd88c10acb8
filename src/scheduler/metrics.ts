// The scheduler's Prometheus metrics, one registry per scheduler instance so
// several servers in one test process do not share counters. Counters and
// histograms are this process's (sum them over the servers); the gauges are
// read from the database at each scrape, so every server reports the lab's.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Store } from '../store/db.ts';
import { countByStage } from '../store/jobs.ts';
import { countBisectsByState, countBuildsByState, countTestboxStates } from '../store/counts.ts';
import { STAGES } from '../model/lifecycle.ts';
import { BISECT_STATES, BUILD_STATES } from '../api/contract.ts';

/** What a job is, as the job counters label it: a user's (or a bisect's) test job, or a pkgbuild job the scheduler made for a build. */
export type JobKind = 'test' | 'pkgbuild';
export const jobKind = (row: { build_key: string | null }): JobKind => (row.build_key ? 'pkgbuild' : 'test');

/** How a submitted job's ss package found its build: reused a succeeded one, joined one in flight, made a new one, or met a remembered failure. */
export type BuildOutcome = 'reused' | 'joined' | 'new' | 'failed';

/** Waits of seconds to an hour and more: a job queued behind a kernel build waits long. */
const WAIT_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600];

export interface MetricsOptions {
  now: () => number;
  /** ms without a heartbeat after which a testbox counts as lost. */
  testboxLostAfter: number;
}

/** A gauge read from the store at scrape, every label value of `all` present (0 when none). */
function storeGauge(registry: Registry, name: string, help: string, label: string, all: readonly string[], read: () => Promise<Record<string, number>>): Gauge {
  return new Gauge({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    async collect() {
      const counts = await read();
      this.reset();
      for (const v of all) this.set({ [label]: v }, counts[v] ?? 0);
    },
  });
}

export class SchedulerMetrics {
  readonly registry = new Registry();
  readonly submitted = new Counter({
    name: 'stacklab_jobs_submitted_total',
    help: 'Jobs submitted, by kind (test: a user or bisect job; pkgbuild: a build attempt the scheduler made)',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly finished = new Counter({
    name: 'stacklab_jobs_finished_total',
    help: 'Jobs finished, by kind and health',
    labelNames: ['kind', 'health'],
    registers: [this.registry],
  });
  readonly claims = new Counter({ name: 'stacklab_claims_total', help: 'Jobs handed to testboxes', registers: [this.registry] });
  readonly claimSeconds = new Histogram({
    name: 'stacklab_claim_seconds',
    help: 'Time of one claim transaction',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [this.registry],
  });
  readonly buildsRequested = new Counter({
    name: 'stacklab_builds_requested_total',
    help: 'ss packages of submitted jobs, by how their build was found: reused (succeeded, cached), joined (in flight), new (a build made), failed (a remembered failure)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly queueWait = new Histogram({
    name: 'stacklab_queue_wait_seconds',
    help: 'Submit to handed to a testbox, by kind (a job held for a build includes its build wait)',
    labelNames: ['kind'],
    buckets: WAIT_BUCKETS,
    registers: [this.registry],
  });
  readonly buildWait = new Histogram({
    name: 'stacklab_build_wait_seconds',
    help: 'Submit to released, of jobs held for a build (its builds succeeded)',
    buckets: WAIT_BUCKETS,
    registers: [this.registry],
  });

  constructor(store: Store, o: MetricsOptions) {
    storeGauge(this.registry, 'stacklab_jobs', 'Jobs by stage', 'stage', STAGES, () => countByStage(store.db));
    storeGauge(this.registry, 'stacklab_builds', 'Builds by state', 'state', BUILD_STATES, () => countBuildsByState(store.db));
    storeGauge(this.registry, 'stacklab_bisects', 'Bisects by state', 'state', BISECT_STATES, () => countBisectsByState(store.db));
    storeGauge(this.registry, 'stacklab_testboxes', 'Testboxes by state (lost: no heartbeat within testbox_lost_after; busy: holding a job)', 'state', ['idle', 'busy', 'lost'], () =>
      countTestboxStates(store.db, o.now(), o.testboxLostAfter),
    );
  }
}
