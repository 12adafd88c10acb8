// The example lab: its suites report real readings, and the demo package's
// generated history is deterministic with its three planted defects where
// the generator says they are. The performance regression is measured in
// instructions (callgrind), not seconds, so the test does not depend on the
// machine's load.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { makeDemoUpstream, type DemoHistory } from '../../src/demo/upstream.ts';
import { parseStats } from '../../src/model/stats.ts';
import { tempDir } from '../support/tmp.ts';
import { ROOT } from '../support/procs.ts';

const SUITES = join(ROOT, 'examples', 'lab', 'suites');

function runSuite(suite: string, params: Record<string, string>, resultRoot: string): Record<string, number> {
  const env = { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/', RESULT_ROOT: resultRoot, ...params };
  const r = spawnSync(join(SUITES, suite, 'run'), { env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  let text = r.stdout;
  try {
    text = execFileSync(join(SUITES, suite, 'parse'), { input: r.stdout, env, encoding: 'utf8' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return parseStats(text, suite);
}

describe('example suites', () => {
  test('host-info reports this machine', () => {
    const t = tempDir();
    try {
      const s = runSuite('host-info', { detail: 'full' }, t.dir);
      assert.equal(s['host-info.nr_cpu'], cpus().length);
      assert.ok(s['host-info.memory_total_mb']! > 100);
      assert.ok(s['host-info.memory_available_mb']! <= s['host-info.memory_total_mb']!);
      assert.ok(s['host-info.uptime_s']! > 0);
      assert.ok('host-info.load_1m' in s && 'host-info.root_free_mb' in s);
      assert.match(readFileSync(join(t.dir, 'cpuinfo'), 'utf8'), /processor/);
    } finally {
      t.cleanup();
    }
  });

  test('cpu-bench measures throughput of real work', () => {
    const t = tempDir();
    try {
      const s = runSuite('cpu-bench', { size_mb: '2', nr_threads: '2' }, t.dir);
      assert.ok(s['cpu-bench.sha256_mb_s']! > 0);
      assert.ok(s['cpu-bench.gzip_mb_s']! > 0);
      assert.equal(s['cpu-bench.threads'], 2);
    } finally {
      t.cleanup();
    }
  });
});

describe('demo package history', () => {
  const t = tempDir();
  let h: DemoHistory;
  before(async () => {
    h = await makeDemoUpstream(join(t.dir, 'demo'));
  });
  after(() => t.cleanup());

  const build = (sha: string, dir: string) => {
    execFileSync('git', ['worktree', 'add', '--detach', '-q', dir, sha], { cwd: h.dir });
    return spawnSync('make', ['-s', 'demo'], { cwd: dir, encoding: 'utf8' });
  };

  test('the same shas every time', async () => {
    const again = await makeDemoUpstream(join(t.dir, 'demo2'));
    assert.deepEqual(again.commits.map((c) => c.sha), h.commits.map((c) => c.sha));
    assert.equal(again.tags['v2.0'], h.head);
    assert.deepEqual(Object.keys(h.tags), ['v1.0', 'v1.1', 'v1.2', 'v2.0']);
  });

  test('the build breaks at the planted commit and builds again after its fix', () => {
    const idx = h.commits.findIndex((c) => c.sha === h.buildBreak.sha);
    assert.equal(h.commits[idx + 1]!.sha, h.buildFix.sha);
    assert.equal(build(h.commits[idx - 1]!.sha, join(t.dir, 'before-break')).status, 0);
    const broken = build(h.buildBreak.sha, join(t.dir, 'break'));
    assert.notEqual(broken.status, 0);
    assert.match(broken.stderr, /error/);
    assert.equal(build(h.buildFix.sha, join(t.dir, 'fix')).status, 0);
  });

  test('the self-test passes before the functional bug and fails from it on', () => {
    const idx = h.commits.findIndex((c) => c.sha === h.functionalBug.sha);
    for (const [sha, want] of [[h.commits[idx - 1]!.sha, 0], [h.functionalBug.sha, 1], [h.head, 1]] as const) {
      const dir = join(t.dir, `fn-${sha.slice(0, 8)}`);
      assert.equal(build(sha, dir).status, 0);
      const r = spawnSync(join(dir, 'demo'), ['--selftest'], { encoding: 'utf8' });
      assert.equal(r.status, want, r.stdout);
    }
  });

  test('the benchmark does a third more work per iteration from the performance regression on (callgrind)', () => {
    const idx = h.commits.findIndex((c) => c.sha === h.perfRegression.sha);
    const instructions = (sha: string) => {
      const dir = join(t.dir, `perf-${sha.slice(0, 8)}`);
      assert.equal(build(sha, dir).status, 0);
      const out = join(dir, 'cg.out');
      const r = spawnSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, join(dir, 'demo'), '--bench', '2000'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const m = /^summary:\s+(\d+)/m.exec(readFileSync(out, 'utf8')) ?? /Collected : (\d+)/.exec(r.stderr);
      assert.ok(m, r.stderr);
      return Number(m[1]);
    };
    const before = instructions(h.commits[idx - 1]!.sha);
    const at = instructions(h.perfRegression.sha);
    const head = instructions(h.head);
    assert.ok(at / before > 1.33, `regression ${at} vs ${before} instructions`);
    assert.ok(head / before > 1.33);
  });
});
