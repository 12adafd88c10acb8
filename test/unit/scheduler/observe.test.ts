// What a finished probe job counts as, per criterion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { observe, type ProbeJob } from '../../../src/scheduler/bisect/observe.ts';

const job = (job_health: string | null, extra: Partial<ProbeJob> = {}): ProbeJob => ({ job_health, stats: null, dep_failure: null, ...extra });
const recipeFailed = job('dependency_failed', { dep_failure: { health: 'failed' } });
const buildLost = job('dependency_failed', { dep_failure: { health: 'abnormal' } });

const cases: [string, ProbeJob, Parameters<typeof observe>[1], ReturnType<typeof observe>][] = [
  ['build: the recipe failed → bad', recipeFailed, { criterion: 'build' }, { outcome: 'bad' }],
  ['build: the test failed, so the build worked → good', job('failed'), { criterion: 'build' }, { outcome: 'good' }],
  ['build: the build was lost after its retries → infra', buildLost, { criterion: 'build' }, { outcome: 'infra' }],
  ['function: success → good', job('success'), { criterion: 'function' }, { outcome: 'good' }],
  ['function: failed → bad', job('failed'), { criterion: 'function' }, { outcome: 'bad' }],
  ['function: timeout (a hang) → bad', job('timeout'), { criterion: 'function' }, { outcome: 'bad' }],
  ['function: the build failed → skip, never blamed', recipeFailed, { criterion: 'function' }, { outcome: 'skip' }],
  ['function: a lost testbox → infra', job('abnormal'), { criterion: 'function' }, { outcome: 'infra' }],
  ['function: a cancelled probe → infra', job('cancel'), { criterion: 'function' }, { outcome: 'infra' }],
  ['function: an error id present → bad', job('success', { stats: { 'x.oops': 2 } }), { criterion: 'function', errid: 'x.oops' }, { outcome: 'bad' }],
  ['function: the error id at zero → good', job('success', { stats: { 'x.oops': 0 } }), { criterion: 'function', errid: 'x.oops' }, { outcome: 'good' }],
  ['perf: the metric is a sample', job('success', { stats: { 'x.ops': 12.5 } }), { criterion: 'perf', metric: 'x.ops' }, { outcome: 'good', value: 12.5 }],
  ['perf: no metric → skip', job('success', { stats: {} }), { criterion: 'perf', metric: 'x.ops' }, { outcome: 'skip' }],
  ['perf: a failed run measures nothing → skip', job('failed', { stats: { 'x.ops': 3 } }), { criterion: 'perf', metric: 'x.ops' }, { outcome: 'skip' }],
  ['perf: the build failed → skip', recipeFailed, { criterion: 'perf', metric: 'x.ops' }, { outcome: 'skip' }],
];
for (const [name, j, o, want] of cases) test(name, () => assert.deepEqual(observe(j, o), want));
