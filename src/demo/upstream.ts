// Generates the demo package's upstream: a git repository with a fixed,
// deterministic history (names, emails and dates fixed, so the shas are the
// same on every machine) of about forty commits of a small C program, with
// three things planted among ordinary commits: a build break (fixed by the
// next commit), a performance regression and a functional bug.
//
//   node examples/demo/upstream.ts DIR   (the wrapper script)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MAKEFILE, renderC, renderReadme, type DemoState } from './source.ts';

export interface PlantedCommit {
  sha: string;
  subject: string;
}

export interface DemoHistory {
  dir: string;
  head: string;
  tags: Record<string, string>;
  /** Every commit, oldest first. */
  commits: PlantedCommit[];
  buildBreak: PlantedCommit;
  buildFix: PlantedCommit;
  perfRegression: PlantedCommit;
  functionalBug: PlantedCommit;
}

type Step = { subject: string; change: (s: DemoState) => void; tag?: string; plant?: 'buildBreak' | 'buildFix' | 'perfRegression' | 'functionalBug' };

const note = (text: string) => (s: DemoState) => void s.notes.push(text);

/** The history, oldest first. Ordinary commits surround each planted one. */
const STEPS: Step[] = [
  { subject: 'demo: a tiny text-statistics tool', change: () => {} },
  { subject: 'readme: say what demo does', change: note('demo --selftest checks its own answers.') },
  { subject: 'add --version', change: note('demo --version prints the version.') },
  { subject: 'readme: document the benchmark', change: note('demo --bench N times N checksums of pseudo-random blocks.') },
  { subject: 'release 1.0', change: (s) => void (s.version = '1.0'), tag: 'v1.0' },
  { subject: 'add --words to count words on stdin', change: (s) => void (s.words = true) },
  { subject: 'readme: document --words', change: note('demo --words counts the words on stdin.') },
  { subject: 'words: treat tabs as spaces', change: note('Words are separated by any white space.') },
  { subject: 'readme: build options come from .config', change: note('Build options come from .config, one KEY=value a line.') },
  { subject: 'median: return early for one element', change: (s) => void (s.brokenBuild = true), plant: 'buildBreak' },
  { subject: 'median: fix the build', change: (s) => void (s.brokenBuild = false), plant: 'buildFix' },
  { subject: 'readme: CONFIG_OPT_LEVEL sets -O', change: note('CONFIG_OPT_LEVEL=2 builds with -O2.') },
  { subject: 'readme: CONFIG_BIG_BUFFER', change: note('CONFIG_BIG_BUFFER=y uses 4 KiB blocks in the benchmark.') },
  { subject: 'add a contributing note', change: note('Patches welcome.') },
  { subject: 'release 1.1', change: (s) => void (s.version = '1.1'), tag: 'v1.1' },
  { subject: 'add --histogram of letters', change: (s) => void (s.histogram = true) },
  { subject: 'readme: document --histogram', change: note('demo --histogram counts letters on stdin.') },
  { subject: 'histogram: ignore case', change: note('The histogram ignores case.') },
  { subject: 'readme: typo', change: note('(The tool is small on purpose.)') },
  { subject: 'selftest: explain the checksum constant', change: note('The self-test checksum is CRC-32 of the pangram.') },
  { subject: 'readme: mention the exit status', change: note('--selftest exits 1 when an answer is wrong.') },
  { subject: 'checksum: keep the table local to the function', change: (s) => void (s.slowChecksum = true), plant: 'perfRegression' },
  { subject: 'readme: examples', change: note('Example: echo hello world | demo --words') },
  { subject: 'words: count the last word without a newline', change: note('The last word counts even without a newline.') },
  { subject: 'readme: the benchmark prints ops_per_sec', change: note('--bench prints iterations, elapsed_ms and ops_per_sec.') },
  { subject: 'histogram: print only letters seen', change: note('Letters never seen are not printed.') },
  { subject: 'release 1.2', change: (s) => void (s.version = '1.2'), tag: 'v1.2' },
  { subject: 'readme: how to run the tests', change: note('Run the self-test after every build.') },
  { subject: 'median: simplify the even case', change: (s) => void (s.medianBug = true), plant: 'functionalBug' },
  { subject: 'readme: authors', change: note('Written for the stacklab demo.') },
  { subject: 'bench: document the digest line', change: note('The digest line shows the work was done.') },
  { subject: 'readme: license', change: note('Public domain.') },
  { subject: 'words: document the definition of a word', change: note('A word is a run of non-space characters.') },
  { subject: 'readme: wording', change: note('Small, fast, and tested.') },
  { subject: 'release 2.0', change: (s) => void (s.version = '2.0'), tag: 'v2.0' },
];

const ENV = {
  GIT_AUTHOR_NAME: 'Demo Author',
  GIT_AUTHOR_EMAIL: 'author@demo.example',
  GIT_COMMITTER_NAME: 'Demo Author',
  GIT_COMMITTER_EMAIL: 'author@demo.example',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

export async function makeDemoUpstream(dir: string): Promise<DemoHistory> {
  const root = resolve(dir);
  if (existsSync(join(root, '.git'))) throw new Error(`${root} already holds a git repository`);
  mkdirSync(root, { recursive: true });
  const git = (args: string[], env: Record<string, string> = {}) =>
    execFileSync('git', args, { cwd: root, env: { ...process.env, ...ENV, ...env }, encoding: 'utf8' }).trim();
  git(['init', '-q', '-b', 'master']);
  const state: DemoState = { version: '0.9', words: false, histogram: false, slowChecksum: false, medianBug: false, brokenBuild: false, notes: [] };
  const history: DemoHistory = { dir: root, head: '', tags: {}, commits: [] } as unknown as DemoHistory;
  STEPS.forEach((step, i) => {
    step.change(state);
    writeFileSync(join(root, 'demo.c'), renderC(state));
    writeFileSync(join(root, 'Makefile'), MAKEFILE);
    writeFileSync(join(root, 'README'), renderReadme(state));
    writeFileSync(join(root, 'VERSION'), `${state.version}\n`);
    git(['add', '-A']);
    const date = new Date(Date.UTC(2025, 0, 1) + i * 3_600_000).toISOString();
    git(['commit', '-q', '--allow-empty', '-m', step.subject], { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date });
    const sha = git(['rev-parse', 'HEAD']);
    history.commits.push({ sha, subject: step.subject });
    if (step.tag) {
      git(['tag', step.tag]);
      history.tags[step.tag] = sha;
    }
    if (step.plant) history[step.plant] = { sha, subject: step.subject };
  });
  history.head = history.commits.at(-1)!.sha;
  return history;
}

/**
 * Makes the demo upstream a lab's registry points at (upstreams/demo/demo.yaml)
 * if it is missing; returns its directory, or undefined if the lab has no
 * demo package.
 */
export async function ensureDemoUpstream(labDir: string): Promise<string | undefined> {
  const entry = join(labDir, 'upstreams', 'demo', 'demo.yaml');
  if (!existsSync(entry)) return undefined;
  const url = /^url:\s*(\S+)/m.exec(readFileSync(entry, 'utf8'))?.[1];
  if (!url || /^[a-z]+:\/\//.test(url)) return undefined;
  const dir = resolve(labDir, url);
  if (!existsSync(join(dir, '.git'))) await makeDemoUpstream(dir);
  return dir;
}
