// The scheduler's Prometheus metrics, one registry per scheduler instance so
// several servers in one test process do not share counters.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Store } from '../store/db.ts';
import { countByStage } from '../store/jobs.ts';

export class SchedulerMetrics {
  readonly registry = new Registry();
  readonly submitted = new Counter({ name: 'stacklab_jobs_submitted_total', help: 'Jobs submitted', registers: [this.registry] });
  readonly finished = new Counter({ name: 'stacklab_jobs_finished_total', help: 'Jobs finished, by health', labelNames: ['health'], registers: [this.registry] });
  readonly claims = new Counter({ name: 'stacklab_claims_total', help: 'Jobs handed to testboxes', registers: [this.registry] });
  readonly claimSeconds = new Histogram({
    name: 'stacklab_claim_seconds',
    help: 'Time of one claim transaction',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [this.registry],
  });

  constructor(store: Store) {
    new Gauge({
      name: 'stacklab_jobs',
      help: 'Jobs by stage',
      labelNames: ['stage'],
      registers: [this.registry],
      async collect() {
        const counts = await countByStage(store.db);
        this.reset();
        for (const [stage, n] of Object.entries(counts)) this.set({ stage }, n);
      },
    });
  }
}
