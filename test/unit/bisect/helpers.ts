// Small builders for engine tests: hand-made graphs with readable names,
// and a loop that drives the engine with an oracle instead of a lab.
import { createBisect, next, record } from '../../../src/bisect/engine.ts';
import type { BisectResult, BisectSpec, BisectState, Dag, Observation, ProbeRequest } from '../../../src/bisect/types.ts';
import { prng } from '../../support/prng.ts';

export { prng };

/** A stable fake sha for a name: 40 hex digits. */
export function sha(name: string): string {
  let h = 0x811c9dc5;
  let out = '';
  for (let round = 0; out.length < 40; round++) {
    for (const ch of `${name}#${round}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, 40);
}

/**
 * A Dag from "name: parent parent" lines, newest first (rev-list order);
 * parents not listed are outside the candidates (good side).
 */
export function dagOf(lines: string[], bad: string, good: string[], firstParent = false): Dag {
  const commits = lines.map((l) => {
    const [name, rest] = l.split(':') as [string, string | undefined];
    const parents = (rest ?? '').trim().split(/\s+/).filter((p) => p !== '');
    return { sha: sha(name.trim()), parents: (firstParent ? parents.slice(0, 1) : parents).map(sha) };
  });
  return { bad: sha(bad), good: good.map(sha), commits, firstParent };
}

/** A linear history c1..cN (cN newest) on top of good commit c0. */
export function linear(n: number): Dag {
  const lines: string[] = [];
  for (let i = n; i >= 1; i--) lines.push(`c${i}: c${i - 1}`);
  return dagOf(lines, `c${n}`, ['c0']);
}

export interface Run {
  result: BisectResult;
  state: BisectState;
  rounds: ProbeRequest[][];
  runs: number;
}

/** Drive a bisect to its end, answering each run with `oracle`. */
export function drive(dag: Dag, spec: BisectSpec, oracle: (sha: string, nth: number) => Observation, slots = 1, limit = 500): Run {
  const state = createBisect(dag, spec);
  const rounds: ProbeRequest[][] = [];
  const seen = new Map<string, number>();
  let runs = 0;
  for (let i = 0; i < limit; i++) {
    const step = next(state, slots);
    if ('done' in step) return { result: step.done, state, rounds, runs };
    if ('wait' in step) throw new Error('drive reports every run, nothing should be owed');
    rounds.push(step.probes);
    for (const p of step.probes) {
      for (let k = 0; k < p.runs; k++) {
        const nth = seen.get(p.sha) ?? 0;
        seen.set(p.sha, nth + 1);
        record(state, p.sha, oracle(p.sha, nth));
        runs++;
      }
    }
  }
  throw new Error('bisect did not finish');
}

/** The oracle of a single regression: bad iff `culprit` is the commit or one of its ancestors. */
export function regressionAt(dag: Dag, culprit: string): (s: string) => Observation {
  const parents = new Map(dag.commits.map((c) => [c.sha, c.parents] as const));
  const memo = new Map<string, boolean>();
  const reaches = (s: string): boolean => {
    if (s === culprit) return true;
    const hit = memo.get(s);
    if (hit !== undefined) return hit;
    const r = (parents.get(s) ?? []).some(reaches);
    memo.set(s, r);
    return r;
  };
  return (s) => ({ outcome: reaches(s) ? 'bad' : 'good' });
}

