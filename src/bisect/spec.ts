// The bisect spec with its defaults filled in, checked once.
import type { BisectSpec, Criterion, Direction, Rule } from './types.ts';

export interface FullSpec {
  criterion: Criterion;
  /** perf for the perf criterion, else the build/function rule. */
  rule: Rule | 'perf';
  confidence: number;
  falsePositives: boolean;
  deterministic: boolean;
  /** undefined: the default for the candidate count (bayes/plan.ts). */
  budget: number | undefined;
  repeat: number;
  metric: string | undefined;
  direction: Direction;
  alpha: number;
  same: number;
  endRuns: number;
  increment: number;
  maxRuns: number;
  confirm: boolean;
  cachedTolerance: number;
  interleaveEnds: boolean;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer (got ${v})`);
  return v;
}

/** The posterior a Bayesian bisect stops at unless told otherwise. */
export const DEFAULT_CONFIDENCE = 0.95;

export function resolveSpec(s: BisectSpec): FullSpec {
  if (!['build', 'function', 'perf'].includes(s.criterion)) throw new RangeError(`unknown criterion ${String(s.criterion)}`);
  const perf = s.criterion === 'perf';
  if (perf && s.direction !== 'lower' && s.direction !== 'higher') throw new RangeError('perf bisection needs direction lower or higher');
  if (s.rule !== undefined && s.rule !== 'bayes' && s.rule !== 'majority') throw new RangeError(`unknown rule ${String(s.rule)}`);
  const rule = perf ? 'perf' : (s.rule ?? 'bayes');
  const bayes = rule === 'bayes';
  const repeat = positiveInt('repeat', s.repeat ?? (perf ? 2 : 1));
  const confidence = s.confidence ?? DEFAULT_CONFIDENCE;
  if (!(confidence > 0.5 && confidence < 1)) throw new RangeError(`confidence must lie between 0.5 and 1 (got ${confidence})`);
  const full: FullSpec = {
    criterion: s.criterion,
    rule,
    confidence,
    falsePositives: s.falsePositives ?? false,
    deterministic: s.deterministic ?? s.criterion === 'build',
    budget: s.budget === undefined ? undefined : positiveInt('budget', s.budget),
    repeat,
    metric: s.metric,
    direction: s.direction ?? 'lower',
    alpha: s.alpha ?? 0.01,
    same: s.same ?? 0.05,
    endRuns: positiveInt('endRuns', s.endRuns ?? (bayes ? 20 : Math.max(5, repeat + 2))),
    increment: positiveInt('increment', s.increment ?? 1),
    maxRuns: s.maxRuns === undefined && bayes ? Infinity : positiveInt('maxRuns', s.maxRuns ?? (perf ? 24 : 2 * repeat + 1)),
    confirm: s.confirm ?? true,
    cachedTolerance: s.cachedTolerance ?? 0.02,
    interleaveEnds: s.interleaveEnds ?? false,
  };
  if (!(full.alpha > 0 && full.alpha < 1) || !(full.same > 0 && full.same < 1)) throw new RangeError('alpha and same must lie between 0 and 1');
  if (full.maxRuns < repeat) throw new RangeError('maxRuns must be at least repeat');
  return full;
}
