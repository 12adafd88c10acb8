// How a job's variables reach its suite (SPEC §2): what lkp's job.sh would
// export and pass, and the names stacklab adds for the other programs' maps.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { loadJobText, suiteEnvironment } from '../../../src/jobfile/index.ts';

const envOf = (text: string) => suiteEnvironment(loadJobText(text, 'job.yaml').jobs[0]!);

describe('suiteEnvironment', () => {
  test('top-level variables are exported as job.sh exports them: lists by line, nil empty, Ruby’s numbers', () => {
    const { env, args } = envOf('suite: s\ntestcase: s\nnr_threads: 100%\nweird-key: 1\nmail_to: [a, b c]\nfl: 1.0\nhalf: 2.5\ntr: yes\nempty:\nruntime: 5m\n');
    assert.deepEqual(args, []);
    assert.equal(env.suite, 's');
    assert.equal(env.nr_threads, '100%');
    assert.equal(env.mail_to, 'a\nb c', 'a list lkp does not expand');
    assert.equal(env.fl, '1.0');
    assert.equal(env.half, '2.5');
    assert.equal(env.tr, 'true');
    assert.equal(env.empty, '');
    assert.equal(env.runtime, '300', 'lkp’s job.sh gives the test its runtime in seconds');
    assert.ok(!('weird-key' in env), 'not a shell name: job.sh does not export it');
  });

  test('the suite’s own map as job.sh passes program parameters; other maps as <map>_<key>', () => {
    const { env } = envOf('suite: s\nnr: 1\ns:\n  nr: 4\n  nr-x: 3\n  nested:\n    deep: 1\nfio-setup-basic:\n  rw: read\nif role client:\n  netperf:\n    test: TCP_RR\nss:\n  linux:\n    commit: v1\nlabels:\n  team: k\n');
    assert.equal(env.nr, '4', 'the suite’s parameter wins over the top-level variable');
    assert.equal(env.nr_45_x, '3');
    assert.equal(env.deep, '1');
    assert.equal(env.fio_setup_basic_rw, 'read');
    assert.equal(env.netperf_test, 'TCP_RR');
    assert.ok(!Object.keys(env).some((k) => k.startsWith('ss') || k.startsWith('labels') || k.startsWith('linux')));
  });

  test('a string for the suite is its arguments, split as a shell would; values are never shell-evaluated', () => {
    const { env, args } = envOf('suite: s\ns: "-n 3 \'a b\' \\"c d\\""\ncount: $(echo /sys/* | wc -w)\n');
    assert.deepEqual(args, ['-n', '3', 'a b', 'c d']);
    assert.equal(env.count, '$(echo /sys/* | wc -w)');
  });

  test('names that change how programs start, or that the agent sets, are never taken from a job', () => {
    const { env } = envOf('suite: s\nLD_PRELOAD: /x.so\nBASH_ENV: /x\nPATH: /evil\nSTACKLAB_JOB_ID: 9\ns:\n  LD_LIBRARY_PATH: /y\n');
    assert.deepEqual(Object.keys(env).sort(), ['suite']);
  });
});
