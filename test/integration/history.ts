// Generated git histories for the bisect differential tests: branches and
// merges, a bug brought in by one commit and present in all its
// descendants, and optionally a few commits that cannot be tested. Written
// with one `git fast-import` per repository (fast: no process per commit),
// with strictly increasing commit dates so git's date order is total.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { prng } from '../support/prng.ts';

const run = promisify(execFile);

export interface History {
  repo: string;
  /** Full shas, by generation index. */
  shas: string[];
  good: string;
  bad: string;
  bug: string;
  untestable: string[];
}

export async function makeHistory(seed: number, opts: { untestable: number }): Promise<History> {
  const rand = prng(seed);
  const int = (n: number): number => Math.floor(rand() * n);
  const size = 20 + int(41);
  // parents by index; index 0 is the root on main
  const parents: number[][] = [[]];
  let main = 0;
  const branches: number[] = [];
  while (parents.length < size) {
    const i = parents.length;
    const r = rand();
    if (r < 0.15 && branches.length < 3) {
      branches.push(i);
      parents.push([main]);
    } else if (r < 0.3 && branches.length > 0) {
      const b = branches.splice(int(branches.length), 1)[0]!;
      parents.push([main, b]);
      main = i;
    } else if (r < 0.55 && branches.length > 0) {
      const k = int(branches.length);
      parents.push([branches[k]!]);
      branches[k] = i;
    } else {
      parents.push([main]);
      main = i;
    }
  }
  // the tip merges what is left, sometimes as an octopus
  if (branches.length > 0) {
    parents.push([main, ...branches]);
    main = parents.length - 1;
  }
  const n = parents.length;
  const ancestors: Set<number>[] = [];
  for (let i = 0; i < n; i++) ancestors.push(new Set([i, ...parents[i]!.flatMap((p) => [...ancestors[p]!])]));
  // good: the root, or a later main-line commit (then branches forked before it are candidates too)
  const mainLine: number[] = [];
  for (let c: number | undefined = main; c !== undefined; c = parents[c]![0]) mainLine.unshift(c);
  const good = mainLine[int(Math.min(4, mainLine.length - 1))]!;
  const candidates = [...ancestors[main]!].filter((i) => !ancestors[good]!.has(i));
  const bug = candidates[int(candidates.length)]!;
  const skippable = candidates.filter((i) => i !== main);
  const untestable = new Set<number>();
  while (untestable.size < Math.min(opts.untestable, skippable.length)) untestable.add(skippable[int(skippable.length)]!);

  let stream = '';
  for (let i = 0; i < n; i++) {
    const isBad = ancestors[i]!.has(bug);
    const msg = `commit ${i}${parents[i]!.length > 1 ? ' (merge)' : ''}\n`;
    stream += `commit refs/heads/b${i}\nmark :${i + 1}\n`;
    stream += `author T <t@example.org> ${1_700_000_000 + i * 60} +0000\ncommitter T <t@example.org> ${1_700_000_000 + i * 60} +0000\n`;
    stream += `data ${Buffer.byteLength(msg)}\n${msg}`;
    const [first, ...rest] = parents[i]!;
    if (first !== undefined) stream += `from :${first + 1}\n`;
    for (const p of rest) stream += `merge :${p + 1}\n`;
    const state = isBad ? 'bad\n' : 'good\n';
    stream += `M 644 inline state\ndata ${state.length}\n${state}`;
    const id = `${i}\n`;
    stream += `M 644 inline id\ndata ${id.length}\n${id}`;
    if (untestable.has(i)) stream += `M 644 inline untestable\ndata 4\nyes\n`;
    else if (i > 0) stream += `D untestable\n`;
  }
  stream += `reset refs/heads/main\nfrom :${main + 1}\n`;
  for (let i = 0; i < n; i++) stream += `reset refs/heads/b${i}\nfrom 0000000000000000000000000000000000000000\n`;

  const repo = await mkdtemp(path.join(tmpdir(), 'stacklab-hist-'));
  await run('git', ['init', '-q', '-b', 'main', repo]);
  await new Promise<void>((resolve, reject) => {
    const p = spawn('git', ['-C', repo, 'fast-import', '--quiet', `--export-marks=${path.join(repo, '.git', 'marks')}`], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`fast-import failed: ${err}`))));
    p.stdin.end(stream);
  });
  const marks = await readFile(path.join(repo, '.git', 'marks'), 'utf8');
  const shas: string[] = new Array<string>(n);
  for (const line of marks.split('\n')) {
    const m = /^:(\d+) ([0-9a-f]{40})$/.exec(line);
    if (m) shas[Number(m[1]) - 1] = m[2]!;
  }
  await run('git', ['-C', repo, 'checkout', '-q', 'main']);
  return { repo, shas, good: shas[good]!, bad: shas[main]!, bug: shas[bug]!, untestable: [...untestable].map((i) => shas[i]!) };
}

/** A test script that logs each run's commit index in `counter`: 125 when untestable, else good/bad from the tree. */
export async function testScript(dir: string, counter: string): Promise<string> {
  const file = path.join(dir, `test-${path.basename(counter)}.sh`);
  await writeFile(file, `cat id >> '${counter}'\ntest -e untestable && exit 125\ngrep -q good state\n`);
  return file;
}
