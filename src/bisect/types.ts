// The plain data the bisect engine reads and writes. Everything here is
// JSON: a driver can store it, send it over HTTP, and rebuild the engine's
// state from it after a restart.

/** What one run of a probe said. `infra` = the lab failed, not the commit: never evidence. */
export type Outcome = 'good' | 'bad' | 'skip' | 'infra';

/**
 * One run. For perf bisection `value` is the metric sample and the outcome
 * only says whether the run worked (`good`/`bad` with a value = a sample,
 * `skip` = the commit could not be measured, e.g. its build failed).
 */
export interface Observation {
  outcome: Outcome;
  value?: number;
}

export type Criterion = 'build' | 'function' | 'perf';

/**
 * How build/function runs are judged. 'bayes' (the default): a posterior
 * over the first bad commit for a test that may fail only some of the time
 * (bayes/posterior.ts). 'majority': each commit is judged by the majority of
 * its `repeat` runs and trusted, as git bisect trusts one run (kept for
 * comparison; the benchmarks' baselines use it).
 */
export type Rule = 'bayes' | 'majority';

/** Which direction of the metric is better; a regression moves the other way. */
export type Direction = 'lower' | 'higher';

export interface BisectSpec {
  criterion: Criterion;
  /** build/function: how runs are judged (default 'bayes'). */
  rule?: Rule;
  /** bayes: stop once the most likely first bad commit has this posterior probability (default 0.95). */
  confidence?: number;
  /** bayes: the test may also fail before the culprit, at a lower unknown rate (default false: it never does). */
  falsePositives?: boolean;
  /** bayes: the test always fails after the culprit (default true for build, false for function): git's cost, and any flake is reported as inconsistent. */
  deterministic?: boolean;
  /** bayes: runs in all before the bisect stops with its best guess (default: 50 + 30 per halving of the candidates). */
  budget?: number;
  /** Runs asked for per new probe (bayes: 1; majority: the majority of these, default 1; perf: initial samples, default 2). */
  repeat?: number;
  /** Perf: the metric's name (for reports only). */
  metric?: string;
  /** Perf: which direction is better. Required for perf. */
  direction?: Direction;
  /** Perf: a p-value at or below this is a difference (default 0.01, as Pinpoint). */
  alpha?: number;
  /** Perf: a p-value above this means "not different" from that end (default 0.05). */
  same?: number;
  /** Perf: samples taken of each end before any comparison (default max(5, repeat + 2)). bayes: runs of the bad end (and, two-sided, of the good end) without it being shown bad before the bisect gives up (default 20). */
  endRuns?: number;
  /** Perf: one more sample of each end every round (default false): for a machine whose speed drifts during the bisect. */
  interleaveEnds?: boolean;
  /** Runs added to a commit whose verdict is unclear (default 1). */
  increment?: number;
  /** Per-commit budget of runs; still unclear after it → skip (default 2·repeat+1, perf 24; bayes: no limit per commit). */
  maxRuns?: number;
  /** majority/perf: probe the culprit and its parent again at the end (default true). bayes confirms by its posterior. */
  confirm?: boolean;
  /** Prefer a cached commit if it leaves at most this much more expected work (default 0.02 = 2 %). */
  cachedTolerance?: number;
}

/** One commit of the candidate graph: `git rev-list --parents` gives exactly this. */
export interface CommitNode {
  sha: string;
  /** All parents, candidates or not (the culprit's parent may be a good commit). */
  parents: string[];
}

/**
 * The candidates: commits reachable from `bad` and from no `good`, in
 * `git rev-list` order (newest first), which also decides git's tie-breaks.
 */
export interface Dag {
  bad: string;
  good: string[];
  commits: CommitNode[];
  firstParent: boolean;
}

/** Why a probe is asked for. */
export type ProbeWhy = 'search' | 'end' | 'more' | 'confirm';

/** "Run `sha` `runs` more times." */
export interface ProbeRequest {
  sha: string;
  runs: number;
  why: ProbeWhy;
}

/** The engine's memory: a round it asked for, or a run a driver reported. */
export type LogEntry =
  | { kind: 'round'; probes: ProbeRequest[] }
  /** `job`: the lab job that made the run, kept with it for people; the engine never reads it. */
  | { kind: 'run'; sha: string; obs: Observation; job?: number };

/** The whole state of one bisect: plain JSON, rebuilt by replaying `log`. */
export interface BisectState {
  version: 1;
  dag: Dag;
  spec: BisectSpec;
  log: LogEntry[];
}

export type Verdict = 'good' | 'bad' | 'skip' | 'pending';

/** What the engine knows about one commit it tested. */
export interface Evidence {
  sha: string;
  verdict: Verdict;
  /** Set on the commits the user named: their verdict is given, not measured. */
  end?: 'good' | 'bad';
  /** Every run's outcome in the order reported (infra included, never counted). */
  outcomes: Outcome[];
  /** Perf: the metric samples. */
  samples?: number[];
  /** Perf: p that it is worse than the good reference / better than the bad one. */
  p_values?: { vs_good: number; vs_bad: number };
  /** bayes: P(this commit is bad), i.e. the first bad commit is among its ancestors-or-self. */
  p_bad?: number;
  /** bayes: P(this commit is the first bad one). */
  posterior?: number;
  /** Its branch depth in history order (history.ts), set where the result is shown without its Dag (the lab's API). */
  depth?: number;
}

export type ResultReason =
  /** first_bad found */
  | 'found'
  /** only skipped commits are left between the last good and the first bad */
  | 'only-skipped'
  /** perf: the bad end is not measurably worse than the good end */
  | 'no-regression'
  /** the verdicts contradict each other (e.g. two regressions on two branches) */
  | 'inconsistent';

/** SPEC §7's bisect result. */
export interface BisectResult {
  first_bad: string | null;
  parent: string | null;
  confidence: number;
  reason: ResultReason;
  /** Distinct commits tested. */
  probes: number;
  /** Runs in all (infra failures not counted). */
  samples: number;
  /** Waves of parallel probes. */
  rounds: number;
  skipped: string[];
  /** When the answer is a range: every commit that may be the first bad one. */
  candidates?: string[];
  /** Every commit tested, in history order (historyOrder in evidence.ts). */
  evidence: Evidence[];
  /** bayes, with a culprit: 'confidence' = it reached the confidence asked for; 'budget' = the runs ran out first (a best guess). */
  stop?: 'confidence' | 'budget';
  /** One or two sentences saying what the answer means, for people (always set by the engine). */
  message?: string;
}

/** What a driver should do next. */
export type Step =
  | { probes: ProbeRequest[]; round: number }
  | { wait: ProbeRequest[] }
  | { done: BisectResult };

/** What a driver tells next() besides the slots. */
export interface NextOptions {
  /** Commits whose build is known (built, or failed recently), with a rank, lower first (when it was built): near-ties go to them, the earliest built first. */
  cacheRank?: (sha: string) => number | undefined;
}
