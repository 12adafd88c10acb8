// K detached worktrees of the repository in a temporary directory, one per
// parallel probe, so commands never touch the user's own checkout. They
// are removed at the end, also on errors and interrupts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { git } from './git.ts';

export interface Worktree {
  dir: string;
  /** The commit checked out, so consecutive runs of one commit skip the checkout. */
  at: string | null;
}

export interface WorktreePool {
  trees: Worktree[];
  checkout(tree: Worktree, sha: string): Promise<void>;
  close(): Promise<void>;
}

export async function openWorktrees(repo: string, count: number, start: string): Promise<WorktreePool> {
  const root = await mkdtemp(path.join(tmpdir(), 'stacklab-bisect-'));
  const trees: Worktree[] = [];
  const close = async (): Promise<void> => {
    for (const t of trees) await git(repo, ['worktree', 'remove', '--force', t.dir]).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
    await git(repo, ['worktree', 'prune']).catch(() => undefined);
  };
  try {
    for (let i = 0; i < count; i++) {
      const dir = path.join(root, `wt${i}`);
      await git(repo, ['worktree', 'add', '--detach', '--quiet', dir, start]);
      trees.push({ dir, at: start });
    }
  } catch (err) {
    await close();
    throw err;
  }
  return {
    trees,
    async checkout(tree, sha) {
      if (tree.at === sha) return;
      tree.at = null;
      // --force: a command that edited tracked files must not block the next commit
      await git(tree.dir, ['checkout', '--detach', '--force', '--quiet', sha, '--']);
      tree.at = sha;
    },
    close,
  };
}
