// The linux recipe's kept trees (a source worktree and an object directory
// per build inputs) do not pile up: a box keeps the `keep_trees` it used
// last, removes the least recently used others with their worktree entry in
// the mirror, and leaves alone one that another build holds. The recipe's
// own tree step runs in real bash on a real git repository; no kernel is
// built (test:kernel:recipe builds them).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeRepo } from '../support/git.ts';
import { tempDir } from '../support/tmp.ts';

const RECIPE = fileURLToPath(new URL('../../examples/lab/recipes/linux/PKGBUILD', import.meta.url));
const t = tempDir();
after(() => t.cleanup());

test('kept kernel trees: the last keep_trees used stay, older ones go with their worktree, a held one stays', async () => {
  const srcdir = join(t.dir, 'src');
  const cachedir = join(t.dir, 'cache', 'linux');
  mkdirSync(cachedir, { recursive: true });
  const [, head] = makeRepo(join(srcdir, 'linux'), [
    { message: 'one', files: { Makefile: 'all:\n' } },
    { message: 'two', files: { Makefile: 'all:\n\ttrue\n' } },
  ]);
  // one "build" with its own inputs (a base per key): the recipe's tree step, which prints the tree it used
  const build = (base: string, keep = '3'): { tree: string; out: string } => {
    const out = execFileSync('bash', ['-c', 'exec 2>&1; set -eo pipefail; source "$1"; _t0=$SECONDS; _setup; _tree; echo "tree=$_tree_src"', 'trees', RECIPE], {
      cwd: srcdir,
      env: { PATH: process.env.PATH, HOME: t.dir, srcdir, cachedir, commit: head!, config: '', base, keep_trees: keep, os_arch: 'x86_64' },
    }).toString();
    const tree = /^tree=(.*)\/src$/m.exec(out)?.[1] ?? '';
    assert.ok(tree.startsWith(cachedir), out);
    return { tree, out };
  };
  const trees = (): string[] => readdirSync(cachedir).filter((n) => n.startsWith('tree-')).map((n) => join(cachedir, n)).sort();
  const worktrees = (): string[] =>
    execFileSync('git', ['-C', join(srcdir, 'linux'), 'worktree', 'list', '--porcelain'])
      .toString()
      .split('\n')
      .filter((l) => l.startsWith('worktree ') && l.includes(cachedir))
      .map((l) => l.slice('worktree '.length).replace(/\/src$/, ''))
      .sort();
  const used = ['b1', 'b2', 'b3', 'b4', 'b5'].map((b) => build(b).tree);
  assert.equal(new Set(used).size, 5, 'a tree per build inputs');
  // the three used last
  assert.deepEqual(trees(), used.slice(2).sort());
  assert.deepEqual(worktrees(), used.slice(2).sort());
  assert.equal(execFileSync('git', ['-C', join(used[4]!, 'src'), 'rev-parse', 'HEAD']).toString().trim(), head);

  // using b3 again makes b4 the least recently used
  const again = build('b3');
  assert.equal(again.tree, used[2]);
  assert.match(again.out, /kept tree .*, checked out/);
  const b6 = build('b6');
  assert.match(b6.out, new RegExp(`removed the kept tree ${used[3]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(least recently used; keep_trees=3\\)`));
  assert.deepEqual(trees(), [used[2]!, used[4]!, b6.tree].sort());

  // a tree another build holds (its lock taken) is left alone, though it is the oldest
  const holder = spawn('bash', ['-c', 'exec 8>>"$1/lock"; flock 8; echo held; sleep 30', 'hold', used[4]!], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
  try {
    build('b3');
    build('b6');
    const b7 = build('b7', '2');
    assert.ok(trees().includes(used[4]!), 'the held tree stays');
    assert.ok(trees().includes(b7.tree));
    assert.ok(!trees().includes(used[2]!) || !trees().includes(b6.tree), `beyond keep_trees=2 an unheld tree went: ${trees().join(' ')}`);
  } finally {
    holder.kill();
  }
  // a tree whose worktree link is broken (its mirror gone, say) is removed all the same, and the build goes on
  const broken = build('b9', '9').tree;
  execFileSync('bash', ['-c', 'echo "gitdir: /nonexistent" > "$1/src/.git"', 'break', broken]);
  const after1 = build('b10', '1');
  assert.deepEqual(trees(), [after1.tree], after1.out);
  assert.deepEqual(worktrees(), [after1.tree]);
  // a bad keep_trees keeps everything and says so
  const bad = build('b8', 'lots');
  assert.ok(existsSync(bad.tree));
  assert.match(bad.out, /keep_trees=lots is not a number: keeping every tree/);
  assert.deepEqual(trees(), [after1.tree, bad.tree].sort());
  // a removed tree (the broken one too) is made again when its inputs come back
  for (const b of ['b3', 'b9']) {
    const back = build(b, '5');
    assert.match(back.out, /new kept tree/);
    assert.ok(worktrees().includes(back.tree), back.out);
  }
});
