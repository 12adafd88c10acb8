// The statistics of `stacklab compare` (lkp's compare, SPEC §9): per stat,
// each group's mean and relative standard deviation, and for each group
// after the first its change against the first and whether the change is
// significant. Plain numbers in, plain numbers out; which jobs make a group
// is the scheduler's business (scheduler/compare.ts).
//
// Significance is Welch's t-test (two-sided, unequal variances): it needs
// no equal-variance assumption and, unlike lkp's range rule, says how sure
// it is. lkp's own rule (the ranges clear each other's means: min_b >
// mean_a and mean_b > max_a, or the other way) is reported beside it as
// `separated`, so a reader used to lkp sees the verdict lkp would give.
// Deterministic measurements (instruction counts under valgrind) have no
// variance: two such groups that differ at all differ with p = 0.

export interface Summary {
  n: number;
  mean: number | null;
  /** Sample standard deviation (n − 1); null below two samples. */
  stddev: number | null;
  /** stddev as a percentage of |mean|; null when either is missing or the mean is 0. */
  stddev_pct: number | null;
  min: number | null;
  max: number | null;
}

export interface Change {
  /** 100 · (mean − base mean) / |base mean|; null when a mean is missing or the base mean is 0. */
  change_pct: number | null;
  /** Welch's two-sided p; null when either group has fewer than two samples. */
  p: number | null;
  /** p below the threshold (0.05 unless asked otherwise). */
  significant: boolean;
  /** lkp's rule: each range lies beyond the other's mean. */
  separated: boolean;
}

export function mean(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Sample variance (n − 1), two-pass for precision; null below two samples. */
export function variance(xs: readonly number[]): number | null {
  if (xs.length < 2) return null;
  const m = mean(xs)!;
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return s / (xs.length - 1);
}

export function summarise(xs: readonly number[]): Summary {
  const m = mean(xs);
  const v = variance(xs);
  const sd = v === null ? null : Math.sqrt(v);
  return {
    n: xs.length,
    mean: m,
    stddev: sd,
    stddev_pct: sd !== null && m !== null && m !== 0 ? (100 * sd) / Math.abs(m) : null,
    min: xs.length ? Math.min(...xs) : null,
    max: xs.length ? Math.max(...xs) : null,
  };
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, nine terms: ~15 digits). */
function lnGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lnGamma(1 - x);
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** The continued fraction of the incomplete beta function (modified Lentz), valid for x < (a+1)/(a+b+2). */
function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    // even step
    let num = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + num * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    // odd step
    num = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + num * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) < 1e-15) break;
  }
  return h;
}

/** The regularised incomplete beta function I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaFraction(x, a, b)) / a : 1 - (front * betaFraction(1 - x, b, a)) / b;
}

/** P(|T| ≥ |t|) for Student's t with df degrees of freedom. */
export function studentTwoSided(t: number, df: number): number {
  if (!Number.isFinite(t)) return 0;
  return incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/** Welch's t-test of two samples: t, the Welch–Satterthwaite df and the two-sided p; null below two samples each. */
export function welch(x: readonly number[], y: readonly number[]): { t: number; df: number; p: number } | null {
  if (x.length < 2 || y.length < 2) return null;
  const mx = mean(x)!;
  const my = mean(y)!;
  const ex = variance(x)! / x.length;
  const ey = variance(y)! / y.length;
  const se2 = ex + ey;
  if (se2 === 0) return mx === my ? { t: 0, df: x.length + y.length - 2, p: 1 } : { t: mx > my ? Infinity : -Infinity, df: x.length + y.length - 2, p: 0 };
  const t = (mx - my) / Math.sqrt(se2);
  const df = (se2 * se2) / ((ex * ex) / (x.length - 1) + (ey * ey) / (y.length - 1));
  return { t, df, p: studentTwoSided(t, df) };
}

/** lkp's default change rule: one range lies above the other's mean while its mean lies above the other's range. */
export function separated(base: readonly number[], other: readonly number[]): boolean {
  const a = summarise(base);
  const b = summarise(other);
  if (a.n === 0 || b.n === 0) return false;
  return (b.min! > a.mean! && b.mean! > a.max!) || (a.min! > b.mean! && a.mean! > b.max!);
}

/** `other` against `base`. */
export function change(base: readonly number[], other: readonly number[], alpha = 0.05): Change {
  const mb = mean(base);
  const mo = mean(other);
  const w = welch(other, base);
  return {
    change_pct: mb !== null && mo !== null && mb !== 0 ? (100 * (mo - mb)) / Math.abs(mb) : null,
    p: w ? w.p : null,
    significant: w !== null && w.p < alpha,
    separated: separated(base, other),
  };
}

/** The mark lkp readers look for beside a change: ** p < 0.01, * p < 0.05, nothing otherwise. */
export function mark(c: Pick<Change, 'p'>): string {
  if (c.p === null) return '';
  return c.p < 0.01 ? '**' : c.p < 0.05 ? '*' : '';
}

export interface GroupSamples {
  /** What the group is, as the field's value (full sha, parameter value…). */
  key: string;
  /** stat name → one sample per job. */
  samples: Record<string, number[]>;
}

export interface StatRow {
  stat: string;
  /** One per group, in the groups' order; the first group's change is null (it is the base). */
  groups: (Summary & { samples: number[]; change: Change | null })[];
}

/** Every stat any group has, its summary per group and its change against groups[0]; sorted by the largest significant change first, then by name. */
export function compareGroups(groups: readonly GroupSamples[], alpha = 0.05): StatRow[] {
  const names = [...new Set(groups.flatMap((g) => Object.keys(g.samples)))].sort();
  const base = groups[0];
  const rows = names.map((stat): StatRow => {
    const b = base?.samples[stat] ?? [];
    return {
      stat,
      groups: groups.map((g, i) => {
        const xs = g.samples[stat] ?? [];
        return { ...summarise(xs), samples: xs, change: i === 0 ? null : change(b, xs, alpha) };
      }),
    };
  });
  const weight = (r: StatRow) => Math.max(0, ...r.groups.map((g) => (g.change?.significant && g.change.change_pct !== null ? Math.abs(g.change.change_pct) : 0)));
  return rows.sort((x, y) => weight(y) - weight(x) || (x.stat < y.stat ? -1 : x.stat > y.stat ? 1 : 0));
}
