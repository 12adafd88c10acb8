// What a finished probe job counts as, per criterion: every way the lab
// fails is infra (never evidence: one failure is strong evidence for the
// Bayesian rule), and a commit the lab keeps failing on becomes untestable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INFRA_IN_A_ROW, observe, withInfraLimit, type ProbeJob } from '../../../src/scheduler/bisect/observe.ts';

const job = (job_health: string | null, extra: Partial<ProbeJob> = {}): ProbeJob => ({ job_health, stats: null, dep_failure: null, ...extra });
const recipeFailed = job('dependency_failed', { dep_failure: { health: 'failed' } });
const buildLost = job('dependency_failed', { dep_failure: { health: 'abnormal' } });

const cases: [string, ProbeJob, Parameters<typeof observe>[1], ReturnType<typeof observe>][] = [
  ['build: the recipe failed → bad', recipeFailed, { criterion: 'build' }, { outcome: 'bad' }],
  ['build: the test failed, so the build worked → good', job('failed'), { criterion: 'build' }, { outcome: 'good' }],
  ['build: the build was lost after its retries → infra', buildLost, { criterion: 'build' }, { outcome: 'infra' }],
  ['function: the build overran after its retries → infra', job('dependency_failed', { dep_failure: { health: 'timeout' } }), { criterion: 'function' }, { outcome: 'infra' }],
  ['function: the build was cancelled → infra', job('dependency_failed', { dep_failure: { health: 'cancel' } }), { criterion: 'function' }, { outcome: 'infra' }],
  ['function: a build failure without details → infra', job('dependency_failed'), { criterion: 'function' }, { outcome: 'infra' }],
  ['function: no health at all → infra', job(null), { criterion: 'function' }, { outcome: 'infra' }],
  ['perf: a lost testbox → infra, not a skip', job('abnormal'), { criterion: 'perf', metric: 'x.ops' }, { outcome: 'infra' }],
  ['function: success → good', job('success'), { criterion: 'function' }, { outcome: 'good' }],
  ['function: failed → bad', job('failed'), { criterion: 'function' }, { outcome: 'bad' }],
  ['function: timeout (a hang) → bad', job('timeout'), { criterion: 'function' }, { outcome: 'bad' }],
  ['function: the build failed → skip, never blamed', recipeFailed, { criterion: 'function' }, { outcome: 'skip' }],
  ['function: a lost testbox → infra', job('abnormal'), { criterion: 'function' }, { outcome: 'infra' }],
  ['function: a cancelled probe → infra', job('cancel'), { criterion: 'function' }, { outcome: 'infra' }],
  ['function: an error id present → bad', job('success', { stats: { 'x.oops': 2 } }), { criterion: 'function', errid: 'x.oops' }, { outcome: 'bad' }],
  ['function: the error id at zero → good', job('success', { stats: { 'x.oops': 0 } }), { criterion: 'function', errid: 'x.oops' }, { outcome: 'good' }],
  ['function: the error id in a job that failed → bad', job('failed', { stats: { 'dmesg.Kernel_panic-not_syncing:Fatal_exception': 1 } }), { criterion: 'function', errid: 'dmesg.Kernel_panic-not_syncing:Fatal_exception' }, { outcome: 'bad' }],
  ['function: a job that failed without the error id → skip, it tells nothing of that error', job('failed', { stats: { 'boot.panic': 1 } }), { criterion: 'function', errid: 'dmesg.WARNING:at_fs/x.c:#f' }, { outcome: 'skip' }],
  ['function: a timeout without the error id → skip', job('timeout'), { criterion: 'function', errid: 'x.oops' }, { outcome: 'skip' }],
  ['perf: the metric is a sample', job('success', { stats: { 'x.ops': 12.5 } }), { criterion: 'perf', metric: 'x.ops' }, { outcome: 'good', value: 12.5 }],
  ['perf: no metric → skip', job('success', { stats: {} }), { criterion: 'perf', metric: 'x.ops' }, { outcome: 'skip' }],
  ['perf: a failed run measures nothing → skip', job('failed', { stats: { 'x.ops': 3 } }), { criterion: 'perf', metric: 'x.ops' }, { outcome: 'skip' }],
  ['perf: the build failed → skip', recipeFailed, { criterion: 'perf', metric: 'x.ops' }, { outcome: 'skip' }],
];
for (const [name, j, o, want] of cases) test(name, () => assert.deepEqual(observe(j, o), want));

test('infra failures stay infra until INFRA_IN_A_ROW in a row for one commit, which counts as untestable', () => {
  const infra = { outcome: 'infra' } as const;
  assert.equal(INFRA_IN_A_ROW, 3);
  assert.deepEqual(withInfraLimit(infra, []), infra);
  assert.deepEqual(withInfraLimit(infra, [infra]), infra);
  assert.deepEqual(withInfraLimit(infra, [infra, infra]), { outcome: 'skip' });
  // a counted run in between starts the count again
  assert.deepEqual(withInfraLimit(infra, [infra, infra, { outcome: 'good' }, infra]), infra);
  assert.deepEqual(withInfraLimit(infra, [infra, infra, { outcome: 'skip' }]), infra);
  // anything else passes as observed
  assert.deepEqual(withInfraLimit({ outcome: 'bad' }, [infra, infra]), { outcome: 'bad' });
  assert.deepEqual(withInfraLimit({ outcome: 'good', value: 3 }, [infra, infra]), { outcome: 'good', value: 3 });
});
