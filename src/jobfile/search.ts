// Where `<<: name` finds its file, in lkp's order: an absolute path as is;
// `./` and `../` beside the including file; else beside it, then in each
// directory of the search path (the lab's job directories, an lkp tree),
// then anywhere below the nearest `jobs/` directory, beside the file, and
// the search path (the first match in sorted depth-first order, as Ruby's
// Dir.glob lists them).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';

const isFile = (p: string): boolean => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
};

/** Directories a recursive search looks through at most: a search path is a tree of job files, not a disk. */
const MAX_WALK = 50_000;

function* below(dir: string, budget: { n: number }): Generator<string> {
  let entries: string[];
  try {
    entries = readdirSync(dir).filter((e) => !e.startsWith('.')).sort();
  } catch {
    return;
  }
  for (const e of entries) {
    const full = join(dir, e);
    if (--budget.n < 0) return;
    yield full;
    let dirish = false;
    try {
      dirish = statSync(full).isDirectory();
    } catch {
      /* vanished or unreadable: skip */
    }
    if (dirish) yield* below(full, budget);
  }
}

function globFirst(root: string, name: string): string | undefined {
  const budget = { n: MAX_WALK };
  const first = name.split('/')[0]!;
  // Matches of **/name at the root itself come where name's first component sorts.
  for (const p of below(root, budget)) {
    if (basename(p) === first && isFile(join(dirname(p), name))) return join(dirname(p), name);
  }
  return undefined;
}

function jobsRoot(dir: string): string | undefined {
  const parts = resolve(dir).split(sep);
  const i = parts.lastIndexOf('jobs');
  return i > 0 ? parts.slice(0, i + 1).join(sep) : undefined;
}

export function findInclude(name: string, relativeTo: string, searchPath: string[]): string | undefined {
  if (isAbsolute(name)) return isFile(name) ? name : undefined;
  if (/^\.\.?\//.test(name)) {
    const p = resolve(relativeTo, name);
    return isFile(p) ? p : undefined;
  }
  const flat = [relativeTo, ...searchPath];
  for (const d of flat) {
    const p = resolve(d, name);
    if (isFile(p)) return p;
  }
  const deep = [...flat];
  const jr = name.startsWith('jobs/') ? undefined : jobsRoot(relativeTo);
  if (jr && !deep.includes(jr)) deep.unshift(jr);
  for (const d of deep) {
    if (!existsSync(d)) continue;
    const p = globFirst(resolve(d), name);
    if (p) return p;
  }
  return undefined;
}
