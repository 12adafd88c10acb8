// Intermittent-failure bisection benchmark: seeded 80-commit linear and
// 150-commit merge histories, a culprit drawn uniformly, a test that fails
// with probability p after the culprit (and, two-sided, 0.1 before it).
// Side by side: stacklab's Bayesian rule (the default), one run per commit
// as git bisect does, and the majority of 5 runs per commit. Then the
// calibration of the reported confidence: of the answers in each bin, how
// many were right, at every failure rate. These are accuracy and run
// counts, not timings; they depend only on the seeds.
//
// git bayesect's own rule is re-derived in test/support/bayesect-rule.ts and
// run on the same linear histories and draws, beside its figures from the
// issue; and, since 30 bisects leave a mean of ±4 runs, the rows with a
// runs goal are run again over --wide more histories, both rules side by side.
// With GIT_BAYESECT naming a checkout of git bayesect (and PYTHON a python3
// with numpy and scipy), the tool itself runs on the same histories and draws
// too (bench/git-bayesect.py drives its Bisector as `git bayesect run` does).
//
//   [GIT_BAYESECT=dir [PYTHON=python3]] node bench/bisect-flaky.ts [--histories 30] [--calibration 200] [--wide 1000] [--write]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BisectSpec } from '../src/bisect/types.ts';
import { fakeSha, flakyScenario, linearHistory, mergeHistory, simulateFlaky, type FlakyOutcome } from '../test/support/flaky-sim.ts';
import { simulateBayesectRule } from '../test/support/bayesect-rule.ts';
import { writeSection } from './report.ts';

const { values: opts } = parseArgs({ options: { histories: { type: 'string', default: '30' }, calibration: { type: 'string', default: '200' }, wide: { type: 'string', default: '1000' }, write: { type: 'boolean', default: false } } });
const HISTORIES = Number(opts.histories);
const CALIBRATION = Number(opts.calibration);
const WIDE = Number(opts.wide);

interface Scenario {
  shape: 'linear' | 'merge';
  pNew: number;
  pOld: number;
  /** git bayesect's figures from issue 11 (right of 30, mean runs), where measured. */
  bayesect?: string;
  runsGoal?: number;
}

const scenarios: Scenario[] = [];
for (const shape of ['linear', 'merge'] as const) {
  scenarios.push({ shape, pNew: 1, pOld: 0 });
  scenarios.push({ shape, pNew: 0.9, pOld: 0, ...(shape === 'linear' ? { bayesect: '30/30 (18)', runsGoal: 18 } : {}) });
  scenarios.push({ shape, pNew: 0.5, pOld: 0, ...(shape === 'linear' ? { bayesect: '30/30 (52)', runsGoal: 52 } : { bayesect: '22/30 (55)' }) });
  scenarios.push({ shape, pNew: 0.3, pOld: 0, ...(shape === 'linear' ? { bayesect: '29/30 (88)', runsGoal: 88 } : {}) });
  scenarios.push({ shape, pNew: 0.1, pOld: 0 });
  scenarios.push({ shape, pNew: 0.7, pOld: 0.1, ...(shape === 'linear' ? { bayesect: '29/30 (45)', runsGoal: 45 } : {}) });
}

const methods: { name: string; spec: (s: Scenario) => BisectSpec }[] = [
  { name: 'stacklab', spec: (s) => ({ criterion: 'function', ...(s.pOld > 0 ? { falsePositives: true } : {}) }) },
  { name: 'git bisect (1 run/commit)', spec: () => ({ criterion: 'function', rule: 'majority', repeat: 1, confirm: false }) },
  { name: 'majority of 5', spec: () => ({ criterion: 'function', rule: 'majority', repeat: 5, confirm: false }) },
];

const label = (s: Scenario): string => `${s.shape === 'linear' ? '80 linear' : '150 with merges'}, ${s.pOld > 0 ? `${s.pNew} after / ${s.pOld} before` : s.pNew === 1 ? 'deterministic' : `p = ${s.pNew}`}`;

function run(s: Scenario, spec: BisectSpec, i: number, base: number): FlakyOutcome {
  const dag = s.shape === 'linear' ? linearHistory(80) : mergeHistory(150, base + i);
  return simulateFlaky(flakyScenario(dag, base + 7000 + i, s.pNew, s.pOld), spec, base + 9000 + i);
}

/** git bayesect's rule on the same history and draws (linear histories only). */
function runRule(s: Scenario, i: number, base: number): { right: boolean; runs: number } {
  return simulateBayesectRule(flakyScenario(linearHistory(80), base + 7000 + i, s.pNew, s.pOld), base + 9000 + i);
}

const GIT_BAYESECT = process.env.GIT_BAYESECT;
const lineIndex = new Map(Array.from({ length: 80 }, (_, k) => [fakeSha(k), k]));

/** git bayesect itself on the same linear histories and draws (bench/git-bayesect.py), when GIT_BAYESECT names a checkout. */
function runTool(s: Scenario, count: number, base: number): { right: boolean; runs: number }[] {
  if (!GIT_BAYESECT || s.shape !== 'linear' || s.pNew >= 1) return [];
  const trials = Array.from({ length: count }, (_, i) => ({
    n: 80,
    culprit: lineIndex.get(flakyScenario(linearHistory(80), base + 7000 + i, s.pNew, s.pOld).culprit)!,
    pNew: s.pNew,
    pOld: s.pOld,
    seed: base + 9000 + i,
  }));
  const script = fileURLToPath(new URL('./git-bayesect.py', import.meta.url));
  const out = execFileSync(process.env.PYTHON ?? 'python3', [script], { input: JSON.stringify(trials), maxBuffer: 1 << 28 });
  return JSON.parse(out.toString()) as { right: boolean; runs: number }[];
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
/** The standard error of a mean. */
const sem = (xs: number[]): number => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / Math.max(1, xs.length - 1) / Math.max(1, xs.length));
};
const sideBySide: string[] = [
  '| scenario | stacklab right | stacklab runs (mean) | goal | ≥ 0.95: right / answers | budget stops | git bayesect right (runs), from issue 11 | bayesect\'s rule, same draws | git bayesect itself, same draws | git bisect right (runs) | majority of 5 right (runs) |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
];
for (const s of scenarios) {
  const cells: Record<string, FlakyOutcome[]> = {};
  for (const m of methods) cells[m.name] = Array.from({ length: HISTORIES }, (_, i) => run(s, m.spec(s), i, 0));
  const ours = cells.stacklab!;
  const right = ours.filter((o) => o.right).length;
  const runs = mean(ours.map((o) => o.runs));
  const hi = ours.filter((o) => o.confidence >= 0.95);
  const goals: string[] = [];
  if (s.pNew >= 0.3) goals.push(`right ≥ 95 % ${right >= 0.95 * HISTORIES ? '✓' : '✗'}`);
  if (s.runsGoal) goals.push(`runs ≤ ${s.runsGoal} ${runs <= s.runsGoal ? '✓' : '✗'}`);
  const base = (name: string): string => {
    const os = cells[name]!;
    return `${os.filter((o) => o.right).length}/${HISTORIES} (${mean(os.map((o) => o.runs)).toFixed(1)})`;
  };
  const rule = s.shape === 'linear' && s.pNew < 1 ? Array.from({ length: HISTORIES }, (_, i) => runRule(s, i, 0)) : [];
  const tool = runTool(s, HISTORIES, 0);
  const tally = (os: { right: boolean; runs: number }[]): string => (os.length ? `${os.filter((o) => o.right).length}/${os.length} (${mean(os.map((o) => o.runs)).toFixed(1)})` : '–');
  sideBySide.push(
    `| ${label(s)} | ${right}/${HISTORIES} | ${runs.toFixed(1)} | ${goals.join(', ') || '–'} | ${hi.filter((o) => o.right).length}/${hi.length} | ${ours.filter((o) => o.result.stop === 'budget').length} | ${s.bayesect ?? '–'} | ${tally(rule)} | ${tally(tool)} | ${base('git bisect (1 run/commit)')} | ${base('majority of 5')} |`,
  );
  process.stderr.write('.');
}
process.stderr.write('\n');

// the rows with a runs goal over many more histories (another seed range): both rules, mean ± its standard error
const wideRows: string[] = [
  `| scenario | stacklab right | stacklab runs (mean ± s.e.) | bayesect's rule right | bayesect's rule runs (mean ± s.e.) | git bayesect itself right | git bayesect itself runs (mean ± s.e.) | issue 11's figure |`,
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
];
for (const s of scenarios.filter((x) => x.runsGoal)) {
  const ours = Array.from({ length: WIDE }, (_, i) => run(s, methods[0]!.spec(s), i, 50_000));
  const rule = Array.from({ length: WIDE }, (_, i) => runRule(s, i, 50_000));
  const tool = runTool(s, WIDE, 50_000);
  const cell = (os: { right: boolean }[]): string => (os.length ? `${((100 * os.filter((o) => o.right).length) / os.length).toFixed(1)} %` : '–');
  const runsCell = (os: { runs: number }[]): string => (os.length ? `${mean(os.map((o) => o.runs)).toFixed(1)} ± ${sem(os.map((o) => o.runs)).toFixed(1)}` : '–');
  wideRows.push(`| ${label(s)} | ${cell(ours)} | ${runsCell(ours)} | ${cell(rule)} | ${runsCell(rule)} | ${cell(tool)} | ${runsCell(tool)} | ${s.bayesect} |`);
  process.stderr.write('.');
}
process.stderr.write('\n');

// --deterministic on a deterministic bug: git's cost plus the bad end and the parent's confirmation
const detRows: string[] = ['| history | git bisect runs (mean) | stacklab default runs | stacklab --deterministic runs | --deterministic right |', '| --- | --- | --- | --- | --- |'];
for (const shape of ['linear', 'merge'] as const) {
  const s: Scenario = { shape, pNew: 1, pOld: 0 };
  const git = Array.from({ length: HISTORIES }, (_, i) => run(s, methods[1]!.spec(s), i, 0));
  const ours = Array.from({ length: HISTORIES }, (_, i) => run(s, { criterion: 'function' }, i, 0));
  const det = Array.from({ length: HISTORIES }, (_, i) => run(s, { criterion: 'function', deterministic: true }, i, 0));
  detRows.push(`| ${label(s).split(',')[0]} | ${mean(git.map((o) => o.runs)).toFixed(1)} | ${mean(ours.map((o) => o.runs)).toFixed(1)} | ${mean(det.map((o) => o.runs)).toFixed(1)} (at most git + ${Math.max(...det.map((o, i) => o.runs - git[i]!.runs))}) | ${det.filter((o) => o.right).length}/${HISTORIES} |`);
}

// calibration: more seeded bisects per scenario (a different seed range), confidence bins → right %
const bins = [0, 0.5, 0.8, 0.9, 0.95, 0.99, 1.0001];
const binName = (k: number): string => (k === bins.length - 2 ? '≥ 0.99' : `${bins[k]}–${bins[k + 1]}`);
const calRows: string[] = [
  `| scenario | ${bins.slice(0, -1).map((_, k) => binName(k)).join(' | ')} | ≥ 0.95 right | no culprit named |`,
  `| --- | ${bins.slice(0, -1).map(() => '---').join(' | ')} | --- | --- |`,
];
const pooled = bins.slice(0, -1).map(() => ({ n: 0, right: 0 }));
let allHighOk = true;
for (const s of scenarios) {
  const outs = Array.from({ length: CALIBRATION }, (_, i) => run(s, methods[0]!.spec(s), i, 100_000));
  const cells = bins.slice(0, -1).map(() => ({ n: 0, right: 0 }));
  let none = 0;
  for (const o of outs) {
    if (!o.found) {
      none++;
      continue;
    }
    const k = bins.findIndex((b, j) => o.confidence >= b && o.confidence < bins[j + 1]!);
    cells[k]!.n++;
    pooled[k]!.n++;
    if (o.right) {
      cells[k]!.right++;
      pooled[k]!.right++;
    }
  }
  const high = outs.filter((o) => o.found && o.confidence >= 0.95);
  const highRight = high.filter((o) => o.right).length;
  const ok = high.length === 0 || highRight >= 0.95 * high.length;
  allHighOk &&= ok;
  const cell = (c: { n: number; right: number }): string => (c.n === 0 ? '–' : `${((100 * c.right) / c.n).toFixed(0)} % (${c.n})`);
  calRows.push(`| ${label(s)} | ${cells.map(cell).join(' | ')} | ${high.length === 0 ? '–' : `${((100 * highRight) / high.length).toFixed(1)} % ${ok ? '✓' : '✗'}`} | ${none} |`);
  process.stderr.write('.');
}
process.stderr.write('\n');
calRows.push(`| all pooled | ${pooled.map((c) => (c.n === 0 ? '–' : `${((100 * c.right) / c.n).toFixed(0)} % (${c.n})`)).join(' | ')} | | |`);

const text = [
  '## Intermittent failures (bench/bisect-flaky.ts)',
  '',
  `Seeded histories: 80 commits in a line, or 150 with up to three branches open at a time and merged back (a new history per seed); the culprit uniform over the candidates; a test that fails with probability p on every commit that has the culprit among its ancestors-or-self, never before it (two-sided: 0.1 before, and stacklab told \`falsePositives\`). ${HISTORIES} histories per row, all three methods on the same histories and the same draws. "right" = the first bad commit named is the culprit (no answer counts as wrong); runs count every run, the ends and confirmations included. stacklab = the default rule for function (SPEC §7: posterior over the first bad commit, expected information gain, confidence 0.95, budget 50 + 30 per halving of the candidates); git bisect = one run per commit, the verdict trusted; majority of 5 = five runs per commit, the majority trusted. git bayesect's figures from issue 11 are those it measured on its own draws; beside them, on the same linear histories and draws as stacklab: its rule, re-derived in test/support/bayesect-rule.ts (it always allows failures before the culprit, as git bayesect does), and ${GIT_BAYESECT ? 'git bayesect itself (version 1.2, its `Bisector` driven by bench/git-bayesect.py as `git bayesect run` drives it: the commits from the bad end back to the good end, the good end included, Jeffreys\' priors, stop at 0.95)' : 'git bayesect itself when GIT_BAYESECT names a checkout of it (not in this run)'}.`,
  '',
  ...sideBySide,
  '',
  `The same rows over ${WIDE} more histories (another seed range), git bayesect's rule re-derived (test/support/bayesect-rule.ts: Jeffreys' priors on both rates integrated out, the least expected entropy with the rates at their posterior means, stop at 0.95, no end runs and no budget) and git bayesect itself on the same histories and draws: thirty bisects leave a mean within ±4 runs, so this is the comparison that tells.`,
  '',
  ...wideRows,
  '',
  'A deterministic bug (p = 1): what calibrated confidence costs, and what `--deterministic` (the default for build) saves. git bisect is right by construction here; stacklab\'s default spends runs after git\'s search until the confidence holds at the low failure rates a few runs cannot rule out.',
  '',
  ...detRows,
  '',
  `**Calibration**: ${CALIBRATION} more seeded bisects per row (other seeds), the reported confidence in bins, and how many answers in each bin named the culprit (right %, answers). Goal: ≥ 95 % right in the ≥ 0.95 bins at every failure rate: ${allHighOk ? '✓' : '✗'}. Runs that named no culprit (the bad end not shown within its runs or the budget) are counted apart.`,
  '',
  ...calRows,
].join('\n');
console.log(text);
if (opts.write) writeSection('bisect-flaky', text);
