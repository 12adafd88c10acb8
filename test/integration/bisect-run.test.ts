// `stacklab bisect run` against `git bisect run` on generated histories
// with merges (and, for some seeds, untestable commits): the same first bad
// commit, no more test runs than git plus the two confirmation runs, and
// fewer rounds with three worktrees than with one. Then the CLI itself:
// --json, exit codes, perf with --metric, aborts and interrupts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { bisectRun } from '../../src/bisect-run/run.ts';
import { makeHistory, testScript, type History } from './history.ts';

const run = promisify(execFile);
const bin = path.resolve(import.meta.dirname, '../../bin/stacklab.js');

async function lines(file: string): Promise<number> {
  return (await readFile(file, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '').length;
}

type GitAnswer = { first: string } | { range: string[] };

async function gitBisect(h: History, script: string): Promise<GitAnswer> {
  await run('git', ['-C', h.repo, 'bisect', 'start', h.bad, h.good]);
  let out: string;
  try {
    out = (await run('git', ['-C', h.repo, 'bisect', 'run', 'sh', script])).stdout;
  } catch (err) {
    out = (err as { stdout: string }).stdout;
  }
  await run('git', ['-C', h.repo, 'bisect', 'reset']);
  const first = /^([0-9a-f]{40}) is the first bad commit/m.exec(out);
  if (first) return { first: first[1]! };
  const range = /could be any of:\n((?:[0-9a-f]{40}\n)+)/.exec(out);
  assert.ok(range, `git bisect said:\n${out}`);
  return { range: range[1]!.trim().split('\n') };
}

async function limit<T>(n: number, jobs: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array<T>(jobs.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]!();
    }
  }));
  return out;
}

test('differential: same first bad commit as git bisect run, no more runs than git + 2, fewer rounds with -j 3', async () => {
  // 24 histories (every third with untestable commits); -j 3 on a third of the others
  const seeds = Array.from({ length: 24 }, (_, i) => i + 1);
  const rows = await limit(3, seeds.map((seed) => async () => {
    const h = await makeHistory(seed, { untestable: seed % 3 === 0 ? 1 + (seed % 4) : 0 });
    try {
      const gitCount = path.join(h.repo, '..', `${path.basename(h.repo)}-git`);
      const oneCount = path.join(h.repo, '..', `${path.basename(h.repo)}-j1`);
      const threeCount = path.join(h.repo, '..', `${path.basename(h.repo)}-j3`);
      const answer = await gitBisect(h, await testScript(path.dirname(h.repo), gitCount));
      const one = await bisectRun({ repo: h.repo, good: [h.good], bad: h.bad, command: ['sh', await testScript(path.dirname(h.repo), oneCount)], jobs: 1 });
      const three = seed % 3 === 1 ? await bisectRun({ repo: h.repo, good: [h.good], bad: h.bad, command: ['sh', await testScript(path.dirname(h.repo), threeCount)], jobs: 3 }) : null;
      const row = { seed, answer, one: one.result, three: three?.result ?? null, gitRuns: await lines(gitCount), oneRuns: await lines(oneCount), threeRuns: await lines(threeCount), bug: h.bug, skips: h.untestable.length };
      for (const f of [gitCount, oneCount, threeCount]) await rm(f, { force: true });
      await rm(path.join(path.dirname(h.repo), `test-${path.basename(gitCount)}.sh`), { force: true });
      await rm(path.join(path.dirname(h.repo), `test-${path.basename(oneCount)}.sh`), { force: true });
      await rm(path.join(path.dirname(h.repo), `test-${path.basename(threeCount)}.sh`), { force: true });
      const worktrees = (await run('git', ['-C', h.repo, 'worktree', 'list'])).stdout.trim().split('\n');
      assert.equal(worktrees.length, 1, 'worktrees removed');
      return row;
    } finally {
      await rm(h.repo, { recursive: true, force: true });
    }
  }));
  let rounds1 = 0;
  let rounds3 = 0;
  for (const r of rows) {
    const where = `seed ${r.seed} (${r.skips} untestable)`;
    if ('first' in r.answer) {
      assert.equal(r.one.first_bad, r.answer.first, where);
      if (r.three) assert.equal(r.three.first_bad, r.answer.first, where);
      if (r.skips === 0) assert.equal(r.answer.first, r.bug, where);
      assert.ok(r.oneRuns <= r.gitRuns + 2, `${where}: ${r.oneRuns} runs vs git's ${r.gitRuns}`);
    } else {
      assert.equal(r.one.first_bad, null, where);
      assert.deepEqual(new Set(r.one.candidates), new Set(r.answer.range), where);
      if (r.three) assert.deepEqual(new Set(r.three.candidates), new Set(r.answer.range), where);
      assert.ok(r.oneRuns <= r.gitRuns, `${where}: ${r.oneRuns} runs vs git's ${r.gitRuns}`);
    }
    assert.equal(r.one.samples, r.oneRuns, `${where}: the result counts every run`);
    if (!r.three) continue;
    assert.equal(r.three.samples, r.threeRuns);
    rounds1 += r.one.rounds;
    rounds3 += r.three.rounds;
    if (r.skips === 0) assert.ok(r.three.rounds < r.one.rounds, `${where}: ${r.three.rounds} rounds with -j 3 vs ${r.one.rounds}`);
  }
  assert.ok(rows.some((r) => r.skips > 0 && 'first' in r.answer), 'some culprits were found around untestable commits');
  assert.ok(rounds3 < rounds1);
});

interface Cli {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], opts: { onSpawn?: (pid: number) => void } = {}): Promise<Cli> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    if (p.pid !== undefined) opts.onSpawn?.(p.pid);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('CLI: --json prints the SPEC result; text mode reports progress; exit codes 0, 1, 2', async () => {
  const h = await makeHistory(101, { untestable: 0 });
  const dir = await mkdtemp(path.join(tmpdir(), 'stacklab-cli-'));
  try {
    const script = await testScript(dir, path.join(dir, 'count'));
    const json = await cli(['bisect', 'run', '--repo', h.repo, '--good', h.good, '--bad', h.bad, '-j', '2', '--json', '--', 'sh', script]);
    assert.equal(json.code, 0, json.stderr);
    const result = JSON.parse(json.stdout);
    for (const key of ['first_bad', 'parent', 'confidence', 'probes', 'samples', 'rounds', 'skipped', 'evidence']) assert.ok(key in result, key);
    assert.equal(result.first_bad, h.bug);
    assert.match(result.parent, /^[0-9a-f]{40}$/);
    assert.ok(result.confidence > 0.9 && result.confidence <= 1);
    assert.equal(json.stderr, '');

    const text = await cli(['bisect', 'run', '--repo', h.repo, '--good', h.good, '--bad', h.bad, '--', 'sh', script]);
    assert.equal(text.code, 0);
    assert.match(text.stdout, new RegExp(`^first bad commit: ${h.bug} commit \\d+`));
    assert.match(text.stderr, /^round 1: probing 1 commit \(1 run\) [0-9a-f]{8} · \d+ candidates left · 0 judged$/m);

    // every candidate untestable except the tip: a range, exit 1
    const skipAll = path.join(dir, 'skip.sh');
    await writeFile(skipAll, 'exit 125\n');
    const none = await cli(['bisect', 'run', '--repo', h.repo, '--good', h.good, '--bad', h.bad, '--json', '--', 'sh', skipAll]);
    assert.equal(none.code, 1);
    assert.equal(JSON.parse(none.stdout).first_bad, null);
    assert.equal(JSON.parse(none.stdout).reason, 'only-skipped');

    const usage = [
      ['bisect', 'run', '--repo', h.repo, '--good', 'no-such-ref', '--bad', h.bad, '--', 'true'],
      ['bisect', 'run', '--repo', h.repo, '--good', h.good, '--bad', h.bad, '--metric', 'x', '--', 'true'],
      ['bisect', 'run', '--repo', h.repo, '--good', h.bad, '--bad', h.good, '--', 'true'],
      ['bisect', 'run', '--repo', h.repo, '--bad', h.bad, '--', 'true'],
      ['bisect', 'run', '--repo', dir, '--good', h.good, '--bad', h.bad, '--', 'true'],
      ['bisect', 'run', '--repo', h.repo, '--good', h.good, '--bad', h.bad, '-j', '0', '--', 'true'],
    ];
    const answers = await Promise.all(usage.map((args) => cli(args)));
    answers.forEach((r, i) => assert.equal(r.code, 2, `${usage[i]!.join(' ')}: ${r.stderr}`));
  } finally {
    await rm(h.repo, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  }
});

test('CLI: perf with --metric finds a 10 % step under noise; a command dying aborts and cleans up', async () => {
  const h = await makeHistory(202, { untestable: 0 });
  const dir = await mkdtemp(path.join(tmpdir(), 'stacklab-perf-'));
  try {
    // lower is better; bad commits take 10 % longer; noise from the run counter
    const script = path.join(dir, 'bench.sh');
    await writeFile(script, [
      `echo run >> '${dir}/count'`,
      `n=$(wc -l < '${dir}/count')`,
      `base=100; grep -q bad state && base=110`,
      `awk -v n="$n" -v b="$base" 'BEGIN { srand(n); s = 0; for (i = 0; i < 12; i++) s += rand(); printf "build_time: %.3f\\n", b + (s - 6) * 2 }'`,
      '',
    ].join('\n'));
    const r = await cli(['bisect', 'run', '--repo', h.repo, '--good', h.good, '--bad', h.bad, '--metric', 'build_time', '--direction', 'lower', '-j', '2', '--json', '--', 'sh', script]);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.equal(result.first_bad, h.bug);
    const culprit = result.evidence.find((e: { sha: string }) => e.sha === h.bug);
    assert.ok(culprit.samples.length >= 2 && culprit.p_values.vs_good <= 0.01);

    const crash = path.join(dir, 'crash.sh');
    await writeFile(crash, 'echo boom >&2\nexit 255\n');
    const aborted = await cli(['bisect', 'run', '--repo', h.repo, '--good', h.good, '--bad', h.bad, '-j', '3', '--', 'sh', crash]);
    assert.equal(aborted.code, 1);
    assert.match(aborted.stderr, /exited with 255 \(128 or more\).*bisect aborted\nboom/s);
    assert.equal((await run('git', ['-C', h.repo, 'worktree', 'list'])).stdout.trim().split('\n').length, 1);
  } finally {
    await rm(h.repo, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  }
});

test('CLI: Ctrl-C stops the running commands and removes the worktrees', async () => {
  const h = await makeHistory(303, { untestable: 0 });
  const dir = await mkdtemp(path.join(tmpdir(), 'stacklab-int-'));
  try {
    const slow = path.join(dir, 'slow.sh');
    await writeFile(slow, `touch '${dir}/started'\nsleep 30\n`);
    let pid = 0;
    const pending = cli(['bisect', 'run', '--repo', h.repo, '--good', h.good, '--bad', h.bad, '-j', '2', '--', 'sh', slow], { onSpawn: (p) => (pid = p) });
    for (let i = 0; i < 200 && (await readFile(path.join(dir, 'started')).catch(() => null)) === null; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(pid > 1, 'the CLI was spawned'); // never kill(0): that would signal this test's own process group
    process.kill(pid, 'SIGINT');
    const r = await pending;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /interrupted/);
    assert.equal((await run('git', ['-C', h.repo, 'worktree', 'list'])).stdout.trim().split('\n').length, 1);
  } finally {
    await rm(h.repo, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  }
});
