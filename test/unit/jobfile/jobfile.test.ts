// Job file rules (SPEC §2): strings kept as written, include, multi-document
// merge, overrides, matrix expansion, and errors with file:line:col. These
// are the rules of the stacklab format before it became lkp's; where lkp's
// meaning differs, the test says so (lkp.test.ts covers lkp's constructs).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { shownName } from '../../../src/jobfile/load.ts';
import { Value } from 'typebox/value';
import { formatIssue, JobFileError, JobFileSchema, JobSchema, loadJobFile, loadJobText, validateJob } from '../../../src/jobfile/index.ts';
import { tempDir } from '../../support/tmp.ts';

const load = (text: string, overrides: string[] = []) => loadJobText(text, 'job.yaml', overrides).jobs;

/** The error text a user sees for a file, one issue per line. */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof JobFileError, String(err));
    return err.message;
  }
  assert.fail('expected a JobFileError');
}

describe('scalars', () => {
  const cases: [string, string, unknown][] = [
    ['a commit that looks like a float', 'ss:\n  linux:\n    commit: 1234e56', { linux: { commit: '1234e56' } }],
    ['a commit with a leading zero', 'ss:\n  linux:\n    commit: 0123456', { linux: { commit: '0123456' } }],
    ['an all-digit sha', 'ss:\n  linux:\n    commit: 1234567890', { linux: { commit: '1234567890' } }],
    ['a build parameter that is a number', 'ss:\n  linux:\n    jobs: 8\n    debug: true', { linux: { jobs: '8', debug: 'true' } }],
  ];
  for (const [name, ss, want] of cases) {
    test(name, () => assert.deepEqual(load(`suite: s\n${ss}\n`)[0]!.ss, want));
  }

  test('versions keep their spelling', () => {
    const [j] = load('suite: s\nos_version: 20.10\nos: 5e3\n');
    assert.equal(j!.os_version, '20.10');
    assert.equal(j!.os, '5e3');
  });

  test('suite parameters: read as lkp’s Ruby YAML reads them (20.10 is the float 20.1, 0x10 is 16), quoted ones stay text', () => {
    // Changed with lkp's format: c was '20.10' and e '0x10'; lkp (Psych, YAML 1.1) gives the suite 20.1 and 16.
    const [j] = load('suite: s\ns:\n  a: 4\n  b: 2.5\n  c: 20.10\n  d: 1e3\n  e: 0x10\n  f: "7"\n  g: true\n  h:\n');
    assert.deepEqual(j!.s, { a: 4, b: 2.5, c: 20.1, d: '1e3', e: 16, f: '7', g: true, h: null });
  });
});

describe('include', () => {
  test('relative to the including file, nested, keys beside it win, later list entries win', () => {
    const t = tempDir();
    try {
      mkdirSync(join(t.dir, 'inc', 'deep'), { recursive: true });
      writeFileSync(join(t.dir, 'inc', 'base.yaml'), 'testbox: dc-base\nruntime: 100\n<<: deep/more.yaml\n');
      writeFileSync(join(t.dir, 'inc', 'deep', 'more.yaml'), 'priority: 3\nos: debian\n');
      writeFileSync(join(t.dir, 'inc', 'other.yaml'), 'os: openeuler\n');
      writeFileSync(join(t.dir, 'job.yaml'), 'suite: s\n<<: [inc/base.yaml, inc/other.yaml]\nruntime: 5\n');
      const [j] = loadJobFile(join(t.dir, 'job.yaml')).jobs;
      assert.deepEqual(j, { testbox: 'dc-base', runtime: 5, priority: 3, os: 'openeuler', suite: 's' });
    } finally {
      t.cleanup();
    }
  });

  test('an include inside the suite parameters merges there', () => {
    const t = tempDir();
    try {
      writeFileSync(join(t.dir, 'params.yaml'), 'n: 4\nm: 2\n');
      writeFileSync(join(t.dir, 'job.yaml'), 'suite: s\ns:\n  <<: params.yaml\n  m: 9\n');
      assert.deepEqual(loadJobFile(join(t.dir, 'job.yaml')).jobs[0]!.s, { n: 4, m: 9 });
    } finally {
      t.cleanup();
    }
  });

  test('a cycle is an error naming the chain; a missing file is an error at the include', () => {
    const t = tempDir();
    try {
      writeFileSync(join(t.dir, 'a.yaml'), 'suite: s\n<<: b.yaml\n');
      writeFileSync(join(t.dir, 'b.yaml'), '<<: a.yaml\n');
      const cycle = errorOf(() => loadJobFile(join(t.dir, 'a.yaml')));
      assert.match(cycle, /b\.yaml:1:5 <<: include cycle: .*a\.yaml -> .*b\.yaml -> .*a\.yaml/);
      writeFileSync(join(t.dir, 'c.yaml'), 'suite: s\n<<: nope.yaml\n');
      assert.equal(errorOf(() => loadJobFile(join(t.dir, 'c.yaml'))), `${shownName(join(t.dir, 'c.yaml'))}:2:5 <<: cannot include nope.yaml: no such file`);
    } finally {
      t.cleanup();
    }
  });

  test('refused where no include root is given (API bodies)', () => {
    assert.equal(errorOf(() => load('suite: s\n<<: /etc/passwd\n')), 'job.yaml:2:5 <<: includes are not allowed here');
  });

  test('standard merge keys with aliases still work', () => {
    const [j] = load('suite: s\nlabels: &b\n  team: x\ns:\n  <<: *b\n  n: 3\n');
    assert.deepEqual(j!.s, { team: 'x', n: 3 });
  });
});

describe('multi-document', () => {
  test('document 0 is a job of its own; documents 1..N each replace whole keys of it (lkp)', () => {
    // Changed with lkp's format: document 0 was not a job, and maps merged deeply (s: {a: 1, b: 3}).
    const jobs = load('suite: s\nruntime: 10\ns:\n  a: 1\n  b: 2\nlabels:\n  x: 1\n---\ns:\n  b: 3\n---\nruntime: 20\ns:\n  a: [7]\n');
    assert.deepEqual(jobs, [
      { suite: 's', runtime: 10, s: { a: 1, b: 2 }, labels: { x: 1 } },
      { suite: 's', runtime: 10, s: { b: 3 }, labels: { x: 1 } },
      { suite: 's', runtime: 20, s: { a: 7 }, labels: { x: 1 } },
    ]);
  });

  test('an empty trailing document repeats document 0, as in lkp, with a warning', () => {
    // Changed with lkp's format: it made no job; lkp merges the empty document over document 0.
    const loaded = loadJobText('suite: s\n---\n', 'job.yaml');
    assert.equal(loaded.jobs.length, 2);
    assert.match(formatIssue(loaded.warnings[0]!), /^job\.yaml:2:1: document 2 is empty: like lkp, it repeats the first document as one more job$/);
    assert.equal(load('---\nsuite: s\n...\n').length, 1);
  });
});

describe('overrides', () => {
  test('dotted keys, numbers, and a flow list that then expands', () => {
    const jobs = load('suite: s\nss:\n  linux:\n    commit: v5.10\n', ['ss.linux.commit=v5.11', 'runtime=60', 's.n=[1, 2]', 'ss.linux.config=a/b']);
    assert.equal(jobs.length, 2);
    assert.deepEqual(jobs[1], { suite: 's', ss: { linux: { commit: 'v5.11', config: 'a/b' } }, runtime: 60, s: { n: 2 } });
  });

  test('a commit override keeps its text', () => {
    assert.equal((load('suite: s\n', ['ss.linux.commit=1234e56'])[0]!.ss as { linux: { commit: string } }).linux.commit, '1234e56');
  });

  test('malformed overrides are errors at their argument', () => {
    assert.equal(errorOf(() => load('suite: s\n', ['runtime=5', 'oops'])), '<command line>:1:2: override "oops" must be key=value (dotted keys reach inside: ss.linux.commit=v5.11)');
    assert.match(errorOf(() => load('suite: s\nruntime: 5\n', ['runtime.x=1'])), /<command line>:1:1 runtime: cannot set runtime\.x: runtime is not a mapping/);
  });
});

describe('matrix', () => {
  test('a list expands into one job per element', () => {
    assert.deepEqual(load('suite: s\ns:\n  n: [1, 2, 3]\n').map((j) => (j.s as { n: number }).n), [1, 2, 3]);
  });

  test('several lists give the cross product, first key slowest', () => {
    const jobs = load('suite: s\ns:\n  a: [1, 2]\n  k: keep\n  b: [x, y, z]\n');
    assert.deepEqual(jobs.map((j) => j.s), [
      { a: 1, k: 'keep', b: 'x' }, { a: 1, k: 'keep', b: 'y' }, { a: 1, k: 'keep', b: 'z' },
      { a: 2, k: 'keep', b: 'x' }, { a: 2, k: 'keep', b: 'y' }, { a: 2, k: 'keep', b: 'z' },
    ]);
  });

  test('lists under ss never expand', () => {
    assert.equal(errorOf(() => load('suite: s\nss:\n  linux:\n    commit: [v1, v2]\n')), 'job.yaml:4:13 ss.linux.commit: ss values do not expand; submit one job per value (or put the list in the suite’s parameters)');
  });

  test('past 10,000 jobs is an error', () => {
    const big = `suite: s\ns:\n  a: [${Array.from({ length: 101 }, (_, i) => i).join(',')}]\n  b: [${Array.from({ length: 100 }, (_, i) => i).join(',')}]\n`;
    assert.match(errorOf(() => load(big)), /job\.yaml:3:3 s: the file expands to more than 10000 jobs/);
  });
});

describe("a result root's job.yaml is a rerun", () => {
  const written = 'id: 7\nsuite: s\nss:\n  linux:\n    commit: 0123456789abcdef0123456789abcdef01234567 # v6.1\nmy_account: alice\nresult_root: /result/s/2026-12-07/dc/debian-12-x86_64/7\n';
  test('its id, result_root and my_account are left out, and the job it reruns is named', () => {
    const r = loadJobText(written, 'job.yaml', ['my_account=bob']);
    assert.equal(r.rerunOf, 7);
    assert.deepEqual(r.jobs, [{ suite: 's', ss: { linux: { commit: '0123456789abcdef0123456789abcdef01234567' } }, my_account: 'bob' }]);
    assert.equal(loadJobText('suite: s\n', 'job.yaml').rerunOf, undefined);
  });
  test("a build job's job.yaml is refused with what to do instead", () => {
    const key = 'ab'.repeat(32);
    const made = `id: 9\nsuite: pkgbuild\npkgbuild:\n  pkg: linux\n  commit: ${'c'.repeat(40)}\n  build_key: ${key}\nbuild_key: ${key}\nresult_root: /result/pkgbuild/2026-12-08/dc/debian-12-x86_64/9\n`;
    const message = errorOf(() => loadJobText(made, 'job.yaml'));
    assert.equal(
      message,
      `job.yaml:3:1 pkgbuild: this is the job.yaml of job 9, the job that made build abababababab (linux at cccccccccccc): a build is not submitted, the lab makes it for the jobs that need it. Submit the job that used it (its own job.yaml reruns it, reusing this build); stacklab builds abababababab shows the build and its log`,
    );
  });
  test('anything else that sets id or result_root is refused as before', () => {
    for (const [text, where] of [
      [written.replace('/7\n', '/8\n'), 'job.yaml:1:1 id'], // the root of another job
      [written.replace(/^result_root.*\n/m, ''), 'job.yaml:1:1 id'],
      [written.replace('id: 7', 'id: "7"'), 'job.yaml:1:1 id'],
      ['suite: s\n---\nid: 7\nresult_root: /result/s/x/7\n', 'job.yaml:3:1 id'], // not the first document
    ] as const) {
      assert.match(errorOf(() => loadJobText(text, 'job.yaml')), new RegExp(`^${where}: set by the scheduler; a job cannot submit it`, 'm'), text);
    }
  });
});

describe('errors name file:line:col and the field', () => {
  const cases: [string, string, string][] = [
    ['a wrong-typed runtime', 'suite: s\nruntime: soon\n', 'job.yaml:2:10 runtime: expected a whole number of seconds ≥ 1, got "soon"'],
    ['a fractional runtime', 'suite: s\nruntime: 1.5\n', 'job.yaml:2:10 runtime: expected a whole number of seconds ≥ 1, got 1.5'],
    ['a field the scheduler owns', 'suite: s\nss_wait_jobs:\n  "12": success\n', 'job.yaml:2:1 ss_wait_jobs: set by the scheduler; a job cannot submit it'],
    // Changed with compass-ci's ss job: a config may be a path on the submitting machine (the CLI uploads
    // the file; the server never reads a path, it takes the lab's config of that base name). What is
    // neither a lab config name nor a path is still refused.
    ['a config that is neither a name nor a path', 'suite: s\nss:\n  linux:\n    config: my config\n', 'job.yaml:4:13 ss.linux.config: "my config" is not a config: a name under the lab\'s configs/linux/ (relative, without \'..\'), or a path to a file on this machine'],
    ['a config name with ..', 'suite: s\nss:\n  linux:\n    config: a/../b\n', 'job.yaml:4:13 ss.linux.config: "a/../b" is not a config: a name under the lab\'s configs/linux/ (relative, without \'..\'), or a path to a file on this machine'],
    ['a bad package name', 'suite: s\nss:\n  Linux/x:\n    commit: v1\n', 'job.yaml:3:3 ss.Linux/x: "Linux/x" is not a package name (lower-case letters, digits, . _ + -)'],
    ['a commit that looks like an option', 'suite: s\nss:\n  linux:\n    commit: --upload-pack=x\n', 'job.yaml:4:13 ss.linux.commit: "--upload-pack=x" is not a commit (a tag, branch or sha: no spaces, not starting with -)'],
    ['no suite', 'runtime: 5\n', 'job.yaml:1:1 suite: required: the suite to run'],
    ['a YAML syntax error', 'suite: s\nruntime: [1, 2\n', 'job.yaml:3:1: Flow sequence in block collection must be sufficiently indented and end with a ]'],
    ['a suite named like a job field', 'suite: ss\n', 'job.yaml:1:8 suite: a suite cannot be named like the job field ss'],
  ];
  for (const [name, text, want] of cases) {
    test(name, () => assert.equal(errorOf(() => load(text)), want));
  }

  test('a config may be a path on the submitting machine, absolute or relative (its file is uploaded)', () => {
    for (const config of ['/srv/cci/build-config/linux/openeuler_defconfig_arm64', './my.config', '../configs/x']) {
      assert.equal((load(`suite: s\nss:\n  linux:\n    config: ${config}\n`)[0]!.ss as { linux: { config: string } }).linux.config, config);
    }
  });

  // Changed with lkp's format: these were errors. lkp takes any key for a job variable, lets program
  // parameters nest (job.sh flattens one level), names them freely (job.sh encodes nr-threads as
  // nr_45_threads) and lets a key be written twice (the later value wins). Near misses of a field
  // stacklab reads, and a key written twice in one file, are warnings; --strict makes them errors.
  test('an unknown field is a job variable; a near miss of a known one is a warning, an error when strict', () => {
    assert.deepEqual(load('suite: s\nfrobnicate: 3\n'), [{ suite: 's', frobnicate: 3 }]);
    const loaded = loadJobText('suite: s\nruntim: 3\n', 'job.yaml');
    assert.deepEqual(loaded.warnings.map(formatIssue), ['job.yaml:2:1 runtim: unknown field; did you mean runtime?']);
    assert.equal(errorOf(() => loadJobText('suite: s\nruntim: 3\n', 'job.yaml', [], { strict: true })), 'job.yaml:2:1 runtim: unknown field; did you mean runtime?');
  });

  test('nested and non-shell-name program parameters load', () => {
    assert.deepEqual(load('suite: s\ns:\n  deep:\n    x: 1\n  nr-threads: 4\n')[0]!.s, { deep: { x: 1 }, 'nr-threads': 4 });
  });

  test('a key written twice: the later value wins in the first place, with a warning', () => {
    const loaded = loadJobText('suite: s\nruntime: 1\nruntime: 2\n', 'job.yaml');
    assert.deepEqual(loaded.jobs, [{ suite: 's', runtime: 2 }]);
    assert.deepEqual(loaded.warnings.map(formatIssue), ['job.yaml:3:1 runtime: written twice in this mapping (first at line 2); the later value wins, as in lkp']);
    assert.match(errorOf(() => loadJobText('suite: s\nruntime: 1\nruntime: 2\n', 'job.yaml', [], { strict: true })), /job\.yaml:3:1 runtime: written twice/);
  });

  test('an alias bomb is refused, not expanded', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
    const text = `suite: s\nlabels:\n  ${levels.map((l) => l.replace(': ', ': ')).join('\n  ')}\n`;
    assert.match(errorOf(() => load(text)), /expands to more than 100000 values \(aliases\?\)/);
  });

  test('all issues of all jobs of a file are reported together, once each', () => {
    const msg = errorOf(() => load('suite: s\nruntime: x\ns:\n  n: [1, 2]\n---\npriority: high\n---\nos: "a b"\n'));
    assert.deepEqual(msg.split('\n'), [
      'job.yaml:2:10 runtime: expected a whole number of seconds ≥ 1, got "x"',
      'job.yaml:6:11 priority: expected a whole number from -1000 to 1000, got "high"',
      'job.yaml:8:5 os: "a b" is not a name (letters, digits and . _ -; at most 64 characters)',
    ]);
  });
});

describe('locate', () => {
  test('an expanded job points at its own list element; merged fields at their document', () => {
    // Changed with lkp's format: 6 jobs, not 4 (document 0 is a job of its own), so the indexes moved by 2.
    const loaded = loadJobText('suite: s\ns:\n  n: [1, 2]\n---\nruntime: 5\n---\nruntime: 6\n', 'job.yaml');
    assert.equal(loaded.jobs.length, 6);
    assert.deepEqual(loaded.locate(1, ['s', 'n']), { file: 'job.yaml', line: 3, col: 10 });
    assert.deepEqual(loaded.locate(4, ['runtime']), { file: 'job.yaml', line: 7, col: 10 });
    assert.deepEqual(loaded.locate(0, ['suite']), { file: 'job.yaml', line: 1, col: 8 });
    // A field the job does not have: its nearest ancestor, here the job's own document.
    assert.deepEqual(loaded.locate(2, ['ss', 'linux', 'commit']), { file: 'job.yaml', line: 5, col: 1 });
  });

  test('a field from an included file points into that file', () => {
    const t = tempDir();
    try {
      writeFileSync(join(t.dir, 'inc.yaml'), 'ss:\n  linux:\n    commit: v9\n');
      writeFileSync(join(t.dir, 'job.yaml'), 'suite: s\n<<: inc.yaml\n');
      const loaded = loadJobFile(join(t.dir, 'job.yaml'));
      const pos = loaded.locate(0, ['ss', 'linux', 'commit']);
      assert.equal(pos.file, shownName(join(t.dir, 'inc.yaml')));
      assert.deepEqual([pos.line, pos.col], [3, 13]);
    } finally {
      t.cleanup();
    }
  });
});

describe('JSON bodies and the published schema', () => {
  test('validateJob applies the same rules to JSON', () => {
    assert.deepEqual(validateJob({ suite: 's', runtime: 5, s: { n: 1 }, ss: { linux: { commit: 'v1' } } }), []);
    const issues = validateJob({ suite: 's', waited: { 1: 'x' }, os_version: 20.1, ss: { linux: { commit: ['a'] } } });
    assert.deepEqual(issues.map((i) => i.path), ['waited', 'os_version', 'ss.linux.commit']);
    assert.match(issues[1]!.message, /expected a name, got 20\.1/);
  });

  const corpus: unknown[] = [
    { suite: 's' },
    { suite: 's', testbox: 'vm-2p8g', os: 'openeuler', os_version: '22.03', os_arch: 'aarch64', memory_minimum: 8, runtime: 300, priority: 5, my_account: 'alice', s: { nr: 4 } },
    { suite: 's', ss: { linux: { fork: 'linux-next', commit: 'v5.10', config: 'openeuler_defconfig_arm64', pkg_ver: 'v1', testbox: 'dc-32g', _upstream_url: 'https://example.org/l.git' } } },
    { suite: 's', labels: { team: 'kernel', n: 1, ok: true } },
    { suite: 's', ss: null, s: null },
    { suite: 's', runtime: 0 },
    { suite: 's', memory_minimum: 0 },
    { suite: 's', priority: 1001 },
    { suite: 's', ss: { linux: { config: '../x' } } },
    { suite: 's', ss: { 'Bad/Name': {} } },
    { suite: 's', ss: { linux: { 'bad-param': 'x' } } },
    { suite: 's', s: { n: { deep: 1 } } },
    { suite: 's', job_stage: 'finish' },
    { suite: 's', labels: { 'bad key': 1 } },
    { testbox: 'dc' },
  ];
  for (const [i, job] of corpus.entries()) {
    test(`the schema and the checker agree on job ${i}`, () => {
      const byChecker = validateJob(job).length === 0;
      assert.equal(Value.Check(JobSchema, job), byChecker, JSON.stringify(job));
      assert.equal(Value.Check(JobFileSchema, job), byChecker, JSON.stringify(job));
    });
  }
});
