// The candidate graph from `git rev-list --parents [--first-parent] BAD
// ^GOOD…`: one line per commit, "sha parent parent…". Parsing is kept
// here, away from the driver, so that tests and the lab build the same Dag.
import type { Dag } from './types.ts';

const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

export interface DagInput {
  bad: string;
  good: string[];
  firstParent?: boolean;
}

/** Throws RangeError on malformed lines or when `bad` is not among the candidates. */
export function parseRevList(text: string, input: DagInput): Dag {
  const commits: Dag['commits'] = [];
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/).filter((w) => w !== '');
    if (words.length === 0) continue;
    for (const w of words) if (!SHA.test(w)) throw new RangeError(`rev-list line is not a list of full shas: ${line}`);
    const [sha, ...parents] = words as [string, ...string[]];
    if (seen.has(sha)) throw new RangeError(`commit ${sha} listed twice`);
    seen.add(sha);
    // --first-parent still prints every parent; the walk only follows the first
    commits.push({ sha, parents: input.firstParent ? parents.slice(0, 1) : parents });
  }
  if (!seen.has(input.bad)) throw new RangeError(`the bad commit ${input.bad} is not among the candidates (is it an ancestor of a good one?)`);
  return { bad: input.bad, good: [...input.good], commits, firstParent: input.firstParent ?? false };
}
