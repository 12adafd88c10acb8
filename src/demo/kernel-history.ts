// Makes the lab's kernel upstream: a bare git repository holding one import
// of Debian's linux-source-6.1 tarball and the generated commits of
// kernel-steps.ts on top (fixed authors and dates, so the shas depend only on the
// tarball). The tarball streams through `xz -dc` and a tar reader straight
// into `git fast-import`: nothing is unpacked onto the disk and no index is
// built, which keeps this to about a minute on two cores.
//
//   npx node examples/kernel/make-history.ts DIR [--tarball FILE]   (the wrapper script)
//
// Idempotent: a DIR whose manifest (stacklab-history.json) names the same
// tarball and generator is left as it is; an older generated history is
// replaced; any other existing DIR is refused.
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { editedPaths, STEPS, type Plant } from './kernel-steps.ts';
import { tarEntries } from './tar.ts';

export const DEFAULT_TARBALL = '/usr/src/linux-source-6.1.tar.xz';
/** Bumped whenever the generated history changes, so old upstreams are remade. */
const GENERATOR = 1;
const MANIFEST = 'stacklab-history.json';
const EPOCH = Date.UTC(2025, 0, 1) / 1000;

const PEOPLE = [
  ['Ada Kernelwright', 'ada@kernel.example'],
  ['Brian Patchford', 'brian@kernel.example'],
  ['Chen Initcall', 'chen@kernel.example'],
  ['Dana Mainline', 'dana@kernel.example'],
  ['Emil Bisectson', 'emil@kernel.example'],
] as const;

export interface HistoryCommit {
  sha: string;
  subject: string;
  tag?: string;
}

export interface KernelHistory {
  dir: string;
  generator: number;
  tarball: string;
  tarball_sha256: string;
  /** The imported kernel's version, e.g. 6.1.192. */
  version: string;
  import: HistoryCommit;
  head: string;
  /** Tag name → commit sha. */
  tags: Record<string, string>;
  /** Every commit, oldest (the import) first. */
  commits: HistoryCommit[];
  plants: Record<Plant, HistoryCommit>;
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Writes with backpressure: fast-import is slower than the tar reader. */
async function put(w: Writable, data: string | Buffer): Promise<void> {
  if (!w.write(data)) await once(w, 'drain');
}

const who = (i: number, t: number) => {
  const [name, email] = PEOPLE[i % PEOPLE.length]!;
  return `${name} <${email}> ${t} +0000`;
};

const dataCmd = (text: string | Buffer) => {
  const b = typeof text === 'string' ? Buffer.from(text) : text;
  return Buffer.concat([Buffer.from(`data ${b.length}\n`), b, Buffer.from('\n')]);
};

function fileCmd(path: string, mode: string, content: Buffer): Buffer {
  if (path.includes('\n') || path.startsWith('"')) throw new Error(`cannot import the path ${JSON.stringify(path)}`);
  return Buffer.concat([Buffer.from(`M ${mode} inline ${path}\n`), dataCmd(content)]);
}

function versionOf(makefile: string): string {
  const field = (k: string) => new RegExp(`^${k} = (\\S*)$`, 'm').exec(makefile)?.[1];
  const [v, p, s] = [field('VERSION'), field('PATCHLEVEL'), field('SUBLEVEL')];
  if (!v || !p || s === undefined) throw new Error('the tarball\'s Makefile names no VERSION/PATCHLEVEL/SUBLEVEL');
  return `${v}.${p}.${s}`;
}

export function readManifest(dir: string): KernelHistory | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as KernelHistory;
  } catch {
    return undefined;
  }
}

async function generate(tmp: string, tarball: string): Promise<Omit<KernelHistory, 'dir' | 'tarball_sha256'>> {
  const git = (args: string[]) => execFileSync('git', args, { cwd: tmp, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' } }).trim();
  await mkdir(tmp, { recursive: true });
  git(['init', '-q', '--bare', '-b', 'master']);
  // A kernel-sized repository must never stop a fetch for minutes of gc.
  git(['config', 'gc.auto', '0']);
  const marks = join(tmp, 'marks');
  const xz = spawn('xz', ['-dc', '-T2', tarball], { stdio: ['ignore', 'pipe', 'inherit'] });
  const fi = spawn('git', ['fast-import', '--quiet', '--done', `--export-marks=${marks}`], { cwd: tmp, stdio: ['pipe', 'inherit', 'inherit'] });
  const xzExit = once(xz, 'exit');
  const fiExit = once(fi, 'exit');
  const w = fi.stdin;
  const keep = editedPaths();
  const kept = new Map<string, string>();
  let prefix: string | undefined;
  let files = 0;

  await put(w, `commit refs/heads/master\nmark :1\nauthor ${who(0, EPOCH)}\ncommitter ${who(0, EPOCH)}\n`);
  // fast-import wants the message before the files, so it cannot name the version; the tag does.
  await put(w, dataCmd(`Import Debian's linux-source-6.1 (${tarball.slice(tarball.lastIndexOf('/') + 1)})\n`));
  for await (const e of tarEntries(xz.stdout as AsyncIterable<Buffer>)) {
    prefix ??= e.path.slice(0, e.path.indexOf('/') + 1);
    if (!e.path.startsWith(prefix)) throw new Error(`${e.path} is outside ${prefix}`);
    const path = e.path.slice(prefix.length).replace(/\/$/, '');
    if (e.type === 'dir' || path === '') continue;
    if (e.type === 'symlink') await put(w, fileCmd(path, '120000', Buffer.from(e.linkname)));
    else {
      await put(w, fileCmd(path, e.mode & 0o111 ? '100755' : '100644', e.data));
      if (keep.has(path)) kept.set(path, e.data.toString('utf8'));
    }
    files++;
  }
  const [xzCode] = (await xzExit) as [number | null];
  if (xzCode !== 0) throw new Error(`xz -dc ${tarball} exited ${xzCode}`);
  for (const p of keep) if (!kept.has(p)) throw new Error(`the tarball has no ${p}`);
  const version = versionOf(kept.get('Makefile')!);
  const importTag = `v${version}`;
  await put(w, `\ntag ${importTag}\nfrom :1\ntagger ${who(0, EPOCH)}\n`);
  await put(w, dataCmd(`Linux ${version}, as Debian's linux-source-6.1 ships it\n`));

  const tagged: { mark: number; tag: string; plant?: Plant; subject: string }[] = [{ mark: 1, tag: importTag, subject: 'import' }];
  for (const [i, step] of STEPS.entries()) {
    const mark = i + 2;
    const t = EPOCH + 3600 * (i + 1);
    await put(w, `commit refs/heads/master\nmark :${mark}\nauthor ${who(i + 1, t)}\ncommitter ${who(i + 1, t)}\n`);
    await put(w, dataCmd(`${step.subject}\n${step.body ? `\n${step.body}\n` : ''}`));
    if (i === 0) await put(w, 'from :1\n');
    for (const edit of step.edits) {
      const next = edit.apply(kept.get(edit.path)!);
      kept.set(edit.path, next);
      await put(w, fileCmd(edit.path, '100644', Buffer.from(next)));
    }
    await put(w, '\n');
    if (step.tag) {
      // Releases are annotated (git describe, hence the kernel's version string, sees them); markers are not.
      if (step.plant === 'versionChange') await put(w, Buffer.concat([Buffer.from(`tag ${step.tag}\nfrom :${mark}\ntagger ${who(i + 1, t)}\n`), dataCmd(`${step.subject}\n`)]));
      else await put(w, `reset refs/tags/${step.tag}\nfrom :${mark}\n\n`);
    }
    tagged.push({ mark, tag: step.tag ?? '', subject: step.subject, ...(step.plant ? { plant: step.plant } : {}) });
  }
  await put(w, 'done\n');
  w.end();
  const [fiCode] = (await fiExit) as [number | null];
  if (fiCode !== 0) throw new Error(`git fast-import exited ${fiCode}`);

  const shaOf = new Map<number, string>();
  for (const line of (await readFile(marks, 'utf8')).split('\n')) {
    const m = /^:(\d+) ([0-9a-f]{40})$/.exec(line);
    if (m) shaOf.set(Number(m[1]), m[2]!);
  }
  await rm(marks);
  const commits: HistoryCommit[] = tagged.map((c) => ({ sha: shaOf.get(c.mark)!, subject: c.mark === 1 ? `import of linux ${version}` : c.subject, ...(c.tag ? { tag: c.tag } : {}) }));
  const plants = {} as Record<Plant, HistoryCommit>;
  tagged.forEach((c, i) => {
    if (c.plant) plants[c.plant] = commits[i]!;
  });
  const tags: Record<string, string> = {};
  for (const c of commits) if (c.tag) tags[c.tag] = c.sha;
  console.error(`make-history: imported ${files} files of linux ${version}, ${STEPS.length} commits on top`);
  return { generator: GENERATOR, tarball, version, import: commits[0]!, head: commits.at(-1)!.sha, tags, commits, plants };
}

export async function makeKernelHistory(dir: string, opts: { tarball?: string } = {}): Promise<KernelHistory> {
  const root = resolve(dir);
  const tarball = resolve(opts.tarball ?? DEFAULT_TARBALL);
  if (!existsSync(tarball)) throw new Error(`${tarball} is missing: apt-get install linux-source-6.1`);
  const tarballSha = await sha256File(tarball);
  const old = readManifest(root);
  if (old && old.generator === GENERATOR && old.tarball_sha256 === tarballSha) return { ...old, dir: root };
  if (existsSync(root) && !old) throw new Error(`${root} exists and is not a generated kernel history: refusing to replace it`);
  const tmp = join(dirname(root), `.${root.slice(root.lastIndexOf('/') + 1)}.partial-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  try {
    const h = await generate(tmp, tarball);
    const history: KernelHistory = { ...h, dir: root, tarball_sha256: tarballSha };
    await writeFile(join(tmp, MANIFEST), JSON.stringify(history, null, 1) + '\n');
    if (old) await rm(root, { recursive: true, force: true });
    await rename(tmp, root);
    return history;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Makes the kernel upstream the lab's registry points at
 * (upstreams/linux/linux.yaml) if it is missing or stale; returns the
 * history, or undefined if the lab has no local linux upstream.
 */
export async function ensureKernelUpstream(labDir: string, opts: { tarball?: string } = {}): Promise<KernelHistory | undefined> {
  const entry = join(labDir, 'upstreams', 'linux', 'linux.yaml');
  if (!existsSync(entry)) return undefined;
  const url = /^url:\s*(\S+)/m.exec(readFileSync(entry, 'utf8'))?.[1];
  if (!url || /^[a-z]+:\/\//.test(url)) return undefined;
  return makeKernelHistory(resolve(labDir, url), opts);
}
