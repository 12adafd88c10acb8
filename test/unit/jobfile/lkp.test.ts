// lkp-tests' job format as stacklab reads it (SPEC §2): every construct of
// lkp's jobs/ tree, on small job files of our own. The expected values are
// what lkp's split-job --no-defaults makes of the same files.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Value } from 'typebox/value';
import {
  clusterRefusal,
  formatIssue,
  JobFileError,
  JobSchema,
  jobName,
  loadJobFile,
  loadJobText,
  memoryNeed,
  runtimeSeconds,
  validateJob,
  type LoadOptions,
} from '../../../src/jobfile/index.ts';
import { tempDir } from '../../support/tmp.ts';

const load = (text: string, overrides: string[] = [], opts: LoadOptions = {}) => loadJobText(text, 'job.yaml', overrides, { requireSuite: false, ...opts }).jobs;

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof JobFileError, String(err));
    return err.message;
  }
  assert.fail('expected a JobFileError');
}

/** Files under a temporary directory, then fn(dir); the directory is removed after. */
function withFiles(files: Record<string, string>, fn: (dir: string) => void): void {
  const t = tempDir();
  try {
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(t.dir, name, '..'), { recursive: true });
      writeFileSync(join(t.dir, name), text);
    }
    fn(t.dir);
  } finally {
    t.cleanup();
  }
}

describe('variables and program maps', () => {
  test('testcase/category headers, lkp variables and program maps other than the suite load as written', () => {
    const [j] = load('suite: fio-basic\ntestcase: fio-basic\ncategory: benchmark\nneed_memory: 8G\nnr_threads: 100%\ndisk: 1HDD\nfio-setup-basic:\n  rw: randwrite\n  bs: 4k\nfio:\n');
    assert.deepEqual(j, {
      suite: 'fio-basic', testcase: 'fio-basic', category: 'benchmark', need_memory: '8G', nr_threads: '100%', disk: '1HDD',
      'fio-setup-basic': { rw: 'randwrite', bs: '4k' }, fio: null,
    });
  });

  test('prototype names are plain variables, never known fields; __proto__ is refused', () => {
    const [j] = load('suite: s\nconstructor: 1\nvalueOf: x\ntoString:\n');
    assert.deepEqual(Object.keys(j!), ['suite', 'constructor', 'valueOf', 'toString']);
    assert.equal(j!.constructor, 1);
    assert.deepEqual(validateJob({ suite: 's', constructor: 'nope', hasOwnProperty: [] }), []);
    assert.match(errorOf(() => load('suite: s\n__proto__:\n  polluted: 1\n')), /job\.yaml:2:1 __proto__: __proto__ is not allowed as a key/);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe('expansion where lkp expands', () => {
  test('lists expand at top level and inside program maps; the first list in the file varies slowest', () => {
    const jobs = load('suite: s\nfs:\n  - xfs\n  - ext4\nprog:\n  bs: [4k, 1M]\nnr_task: [1, 8]\n');
    assert.deepEqual(jobs.map((j) => [j.fs, (j.prog as { bs: string }).bs, j.nr_task]), [
      ['xfs', '4k', 1], ['xfs', '4k', 8], ['xfs', '1M', 1], ['xfs', '1M', 8],
      ['ext4', '4k', 1], ['ext4', '4k', 8], ['ext4', '1M', 1], ['ext4', '1M', 8],
    ]);
  });

  test('lists of accumulative keys (need_*, mail_to) stay lists; an empty list makes no job', () => {
    assert.deepEqual(load('suite: s\nneed_kconfig: [A, B]\nmail_to: [a@x, b@x]\n')[0], { suite: 's', need_kconfig: ['A', 'B'], mail_to: ['a@x', 'b@x'] });
    assert.deepEqual(load('suite: s\nfs: []\n---\nfs: xfs\n'), [{ suite: 's', fs: 'xfs' }]);
  });

  test('with an lkp tree, only programs, their options, the wrappers’ options and EXPAND_DIMS expand', () => {
    withFiles(
      {
        'lkp/programs/mybench/run': '#!/bin/sh\n# - nr_threads\n# = mode\n\n# - not_an_option\n',
        'lkp/programs/mysetup/setup': '#!/bin/sh\n# - size\n',
        'lkp/bin/run-test': '#!/bin/sh\n# - nr_instances\n',
      },
      (dir) => {
        for (const f of ['lkp/programs/mybench/run', 'lkp/programs/mysetup/setup']) chmodSync(join(dir, f), 0o755);
        const text = 'suite: mybench\nmybench:\n  nr_threads: [1, 2]\n  mode: [a, b]\n  not_an_option: [x, y]\nother: [p, q]\nnr_instances: [3, 4]\ncommit: [c1, c2]\n';
        const jobs = load(text, [], { lkpSrc: join(dir, 'lkp') });
        assert.equal(jobs.length, 2 * 2 * 2 * 2);
        assert.deepEqual((jobs[0]!.mybench as Record<string, unknown>).not_an_option, ['x', 'y']);
        assert.deepEqual(jobs[0]!.other, ['p', 'q']);
        // split-job's names: parameters sorted by name (mode, nr_instances, nr_threads), `=` options as key=value, then the commit.
        const loaded = loadJobText(text, 'job.yaml', [], { lkpSrc: join(dir, 'lkp'), requireSuite: false });
        assert.equal(loaded.names[0], 'job-mode=a-3-1-c1.yaml');
        assert.equal(jobName({ suite: 'x' }, 'jobs/x.yaml'), 'x-defaults.yaml');
        // Without the tree every list expands.
        assert.equal(load(text).length, 2 ** 6);
      },
    );
  });
});

describe('multi-document files', () => {
  test('document 0 is a job; later documents replace whole keys of it, program maps included', () => {
    const jobs = load('suite: s\nfs: xfs\nprog:\n  test: [a, b]\n  load: 1\n---\nprog:\n  test: c\n---\nfs: ext4\n');
    assert.deepEqual(jobs, [
      { suite: 's', fs: 'xfs', prog: { test: 'a', load: 1 } },
      { suite: 's', fs: 'xfs', prog: { test: 'b', load: 1 } },
      { suite: 's', fs: 'xfs', prog: { test: 'c' } },
      { suite: 's', fs: 'ext4', prog: { test: 'a', load: 1 } },
      { suite: 's', fs: 'ext4', prog: { test: 'b', load: 1 } },
    ]);
  });

  test('accumulative keys accumulate, key-: deletes, a.b: sets inside', () => {
    const jobs = load('suite: s\nmail_to: a@x\nperf-profile:\n  delay: 5\nfsmark:\n  size: 1G\n---\nmail_to: b@x\nperf-profile-:\nfsmark.size: 2G\nfsmark.extra: 3\n');
    assert.deepEqual(jobs[1], { suite: 's', mail_to: ['a@x', 'b@x'], fsmark: { size: '2G', extra: 3 } });
  });
});

describe('includes', () => {
  test('repeated <<: lines splice files in place: later keys win, keys before an include lose to it', () => {
    withFiles(
      {
        'jobs/common/base.yaml': 'fs: xfs\nruntime: 100\n',
        'jobs/common/other.yaml': 'fs: ext4\ndisk: 1HDD\n',
        'jobs/suite/job.yaml': 'suite: s\nruntime: 5\n<<: base.yaml\n<<: other.yaml\ndisk: 2HDD\n',
      },
      (dir) => {
        // base.yaml and other.yaml are found below the nearest jobs/ directory, as lkp finds them.
        const loaded = loadJobFile(join(dir, 'jobs/suite/job.yaml'));
        assert.deepEqual(loaded.jobs, [{ suite: 's', runtime: 100, fs: 'ext4', disk: '2HDD' }]);
        assert.deepEqual(loaded.warnings, []);
        assert.match(loaded.locate(0, ['fs']).file, /other\.yaml$/);
      },
    );
  });

  test('<<: {file: …, key: value, ignore: [k]} edits every document of the included file', () => {
    withFiles(
      {
        'base.yaml': 'suite: s\ndisk: 1HDD\nmedia: hdd\nfs: xfs\n---\nfs: ext4\n',
        'job.yaml': '<<: {file: base.yaml, disk: 1SSD, ignore: [media]}\n',
      },
      (dir) => {
        assert.deepEqual(loadJobFile(join(dir, 'job.yaml')).jobs, [
          { suite: 's', disk: '1SSD', fs: 'xfs' },
          { suite: 's', disk: '1SSD', fs: 'ext4' },
        ]);
      },
    );
  });

  test('the search path is searched after the file’s own directory', () => {
    withFiles({ 'lab/jobs/shared.yaml': 'testbox: vm-2p8g\n', 'home/job.yaml': 'suite: s\n<<: shared.yaml\n' }, (dir) => {
      assert.match(errorOf(() => loadJobFile(join(dir, 'home/job.yaml'))), /job\.yaml:2:5 <<: cannot include shared\.yaml: no such file/);
      assert.deepEqual(loadJobFile(join(dir, 'home/job.yaml'), [], { searchPath: [join(dir, 'lab/jobs')] }).jobs, [{ suite: 's', testbox: 'vm-2p8g' }]);
    });
  });
});

describe('cluster jobs', () => {
  test('if role sections load as lkp reads them; the job is refused for submit with a reason', () => {
    const [j] = load('suite: netperf\ncluster: cs-localhost\nif role server:\n  netserver:\nif role client:\n  netperf:\n    test: TCP_RR\n');
    assert.deepEqual(j!['if role client'], { netperf: { test: 'TCP_RR' } });
    assert.match(clusterRefusal(j!)!, /^cluster jobs need several testboxes .*cluster: cs-localhost, if role server:, if role client:/);
    assert.equal(clusterRefusal({ suite: 's' }), undefined);
  });
});

describe('templates', () => {
  test('if/elsif/else, case/when, ?: and =~ against the job as it is at that point', () => {
    const text = [
      'suite: s',
      'fs: [btrfs, xfs]',
      'prog:',
      '  test: [rw, src]',
      '  load: {{',
      "          if fs == 'btrfs'",
      "            if prog.test == 'src' || prog.test == 'x'",
      '              500',
      '            else',
      '              1500',
      '            end',
      '          else',
      '            3000',
      '          end',
      '        }}',
      "  size: {{ case fs\n          when 'btrfs' then '1G'\n          else '2G'\n          end }}",
      "  mark: \"{{ fs =~ /tr/ ? 'yes' : 'no' }}\"",
      '  label: fs-{{ fs }}',
    ].join('\n');
    const jobs = load(text).map((j) => j.prog);
    assert.deepEqual(jobs, [
      { test: 'rw', load: 1500, size: '1G', mark: 'yes', label: 'fs-{{ fs }}' },
      { test: 'src', load: 500, size: '1G', mark: 'yes', label: 'fs-{{ fs }}' },
      { test: 'rw', load: 3000, size: '2G', mark: 'no', label: 'fs-{{ fs }}' },
      { test: 'src', load: 3000, size: '2G', mark: 'no', label: 'fs-{{ fs }}' },
    ].map((p) => ({ ...p, label: p.label.replace('{{ fs }}', p.size === '1G' ? 'btrfs' : 'xfs') })));
  });

  test('a template giving nil drops that job', () => {
    const jobs = load("suite: s\nfs: [f2fs, xfs]\nprog:\n  test:\n    - {{ fs == 'f2fs' ? nil : 'disk_src' }}\n    - disk_rr\n");
    assert.deepEqual(jobs.map((j) => [j.fs, (j.prog as { test: string }).test]), [['f2fs', 'disk_rr'], ['xfs', 'disk_src'], ['xfs', 'disk_rr']]);
  });

  test('anything but the subset is refused as a template, at its position; ERB too', () => {
    assert.match(errorOf(() => load("suite: s\nx: {{ File.read('/etc/passwd') }}\n")), /^job\.yaml:2:4 x: template \{\{ File\.read\('\/etc\/passwd'\) \}\}: the Ruby constant File is outside it/);
    assert.match(errorOf(() => load('suite: s\nx: {{ `id` }}\n')), /job\.yaml:2:4 x: template \{\{ `id` \}\}: .* is outside it \(stacklab evaluates \{\{ \}\} templates in a subset of Ruby/);
    assert.match(errorOf(() => load('suite: s\nx: {{ nope }}\n')), /job\.yaml:2:4 x: template \{\{ nope \}\}: unknown variable nope/);
    assert.match(errorOf(() => load('suite: s\nkey: <%= ENV["HOME"] %>\n')), /job\.yaml:2:6: an ERB template .* stacklab does not evaluate ERB/);
  });
});

describe('YAML 1.1 as lkp’s Ruby reads it', () => {
  test('booleans, octal, commas, base 60, floats; commits and names stay as written', () => {
    const [j] = load('suite: s\na: on\nb: No\nc: y\nd: 010\ne: 1,000\nf: 1:30\ng: 1.0\nh: 1e3\ni: 2024-01-01\ncommit: 0123456\nlinux_commit: 1234e56\nos_version: 20.10\n');
    assert.deepEqual(j, { suite: 's', a: true, b: false, c: 'y', d: 8, e: 1000, f: 5400, g: '1.0', h: '1e3', i: '2024-01-01', commit: '0123456', linux_commit: '1234e56', os_version: '20.10' });
  });

  test('Ruby object tags are refused (lkp’s loader would build the object)', () => {
    assert.match(errorOf(() => load('suite: s\na: !ruby/object:Foo {}\n')), /job\.yaml:2:\d+: the tag !ruby\/object:Foo makes a Ruby object/);
    assert.deepEqual(load('suite: s\na: !!str 010\n')[0], { suite: 's', a: '010' });
  });
});

describe('lkp values with stacklab meaning', () => {
  test('runtime with a unit gives the scheduler seconds; bad ones are errors at their position', () => {
    const jobs = load('suite: s\nruntime: [300s, 20m, 1h, 10d, 45, ~]\n');
    assert.deepEqual(jobs.map(runtimeSeconds), [300, 1200, 3600, 864_000, 45, undefined]);
    assert.equal(errorOf(() => load('suite: s\nruntime: 5 minutes\n')), 'job.yaml:2:10 runtime: expected a whole number of seconds ≥ 1, got "5 minutes"');
  });

  test('need_memory and memory_minimum: the larger in GiB; a percentage is kept for the box', () => {
    assert.deepEqual(memoryNeed(load('suite: s\nneed_memory: 8G\nmemory_minimum: 2\n')[0]!), { gib: 8 });
    assert.deepEqual(memoryNeed(load('suite: s\nneed_memory: 512MB\n')[0]!), { gib: 0.5 });
    assert.deepEqual(memoryNeed(load('suite: s\nneed_memory: 50%\n')[0]!), { percentOfCpus: 50 });
    assert.equal(errorOf(() => load('suite: s\nneed_memory: lots\n')), 'job.yaml:2:14 need_memory: expected a size such as 8G, 300MB or 50%, got "lots"');
  });
});

describe('near misses', () => {
  test('inside ss.<pkg>: comit is a warning (a build parameter otherwise), an error when strict', () => {
    const text = 'suite: s\nss:\n  linux:\n    comit: v5.10\n';
    const loaded = loadJobText(text, 'job.yaml');
    assert.deepEqual(loaded.warnings.map(formatIssue), ['job.yaml:4:5 ss.linux.comit: not a key stacklab reads in an ss entry, so a build parameter; did you mean commit?']);
    assert.match(errorOf(() => loadJobText(text, 'job.yaml', [], { strict: true })), /did you mean commit\?/);
  });

  test('short lkp variables are not taken for short fields (fs is not os, md not ss)', () => {
    assert.deepEqual(loadJobText('suite: s\nfs: xfs\nmd: RAID0\nip: ipv4\nsize: 1G\n', 'job.yaml').warnings, []);
  });

  test('JSON bodies: any top-level variable passes the checker and the schema; near misses warn', () => {
    const job = { suite: 's', testcase: 's', nr_threads: '100%', runtime: '300s', need_memory: '8G', 'fio-setup-basic': { rw: ['read', 'write'] } };
    assert.deepEqual(validateJob(job), []);
    assert.ok(Value.Check(JobSchema, job));
    const warnings: ReturnType<typeof validateJob> = [];
    assert.deepEqual(validateJob({ suite: 's', testbx: 'dc' }, { warnings }), []);
    assert.deepEqual(warnings.map((w) => w.path), ['testbx']);
    assert.deepEqual(validateJob({ suite: 's', testbx: 'dc' }, { strict: true }).map((w) => w.message), ['unknown field; did you mean testbox?']);
  });
});

describe('command-line layers', () => {
  test('defaults stay under the job, overlays and key=value go over it, in order', () => {
    withFiles({ 'defaults.yaml': 'my_account: alice\ntestbox: dc\nfs: ext4\n', 'over.yaml': 'fs: btrfs\n' }, (dir) => {
      const jobs = load('suite: s\ntestbox: vm-2p8g\n', ['fs=xfs'], {
        defaults: [{ file: join(dir, 'defaults.yaml') }],
        overlays: [{ file: join(dir, 'over.yaml') }, { yaml: 'runtime: 60s\nnr_threads: [1, 2]', name: '-s' }],
      });
      assert.deepEqual(jobs, [
        { suite: 's', testbox: 'vm-2p8g', my_account: 'alice', fs: 'xfs', runtime: '60s', nr_threads: 1 },
        { suite: 's', testbox: 'vm-2p8g', my_account: 'alice', fs: 'xfs', runtime: '60s', nr_threads: 2 },
      ]);
    });
  });
});
