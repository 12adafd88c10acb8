// Expected information gain of a round of probes, and the greedy choice of
// K of them. A round is a multiset of commits (a commit may get several
// runs, which is often the best use of a box when the test is flaky). Its
// value is I(first bad; outcomes): what the runs are expected to tell about
// where the culprit is, the unknown rates integrated out. The runs of one
// commit are exchangeable, so only how many of them fail matters, and the
// outcomes of a round are the vectors of failure counts.
//
// Hypotheses that no probe of the round tells apart form a "part" (a group
// of the posterior cut by the probes' ancestor sets); the gain is computed
// over parts, never over single commits.
import { and, andNot, countAnd, type Bits } from '../bitset.ts';
import type { Graph } from '../graph.ts';
import { groupLogL, type Group, type Posterior, type RateModel } from './posterior.ts';
import { marginalTable } from './rates.ts';

/** A probe: a candidate (node) or a commit before every candidate (node undefined: a good end). */
export interface Probe {
  node: number | undefined;
  runs: number;
}

interface Part {
  group: Group;
  bits: Bits;
  count: number;
  /** Bit i set: probe i is after these hypotheses. */
  mask: number;
}

/** Rounds whose outcome vectors exceed this are not enumerated; the rest of the round is chosen by mass. */
const MAX_OUTCOMES = 256;

function partsOf(post: Posterior): Part[] {
  return post.groups.map((group) => ({ group, bits: group.members, count: group.size, mask: 0 }));
}

function split(g: Graph, parts: readonly Part[], node: number | undefined, bit: number): Part[] {
  if (node === undefined) return [...parts];
  const anc = g.ancestors[node]!;
  const out: Part[] = [];
  for (const p of parts) {
    const inside = countAnd(p.bits, anc);
    if (inside > 0) out.push({ group: p.group, bits: inside === p.count ? p.bits : and(p.bits, anc), count: inside, mask: p.mask | bit });
    if (inside < p.count) out.push({ group: p.group, bits: inside === 0 ? p.bits : andNot(p.bits, anc), count: p.count - inside, mask: p.mask });
  }
  return out;
}

/** Parts after adding `node` as a new probe, sizes only (bitsets are not needed to score it). */
function splitSizes(g: Graph, parts: readonly Part[], node: number | undefined, bit: number): { group: Group; count: number; mask: number }[] {
  if (node === undefined) return parts.map((p) => ({ group: p.group, count: p.count, mask: p.mask }));
  const anc = g.ancestors[node]!;
  const out: { group: Group; count: number; mask: number }[] = [];
  for (const p of parts) {
    const inside = countAnd(p.bits, anc);
    if (inside > 0) out.push({ group: p.group, count: inside, mask: p.mask | bit });
    if (inside < p.count) out.push({ group: p.group, count: p.count - inside, mask: p.mask });
  }
  return out;
}

function lnChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log((n - k + i) / i);
  return s;
}

export class GainModel {
  readonly #model: RateModel;
  readonly #logNew: (f: number, s: number) => number;
  readonly #logOld: (f: number, s: number) => number;

  constructor(model: RateModel) {
    this.#model = model;
    this.#logNew = marginalTable(model.newRate);
    this.#logOld = marginalTable(model.oldRate);
  }

  /** I(first bad; failure counts of `probes`) in nats, over parts whose mask says which probes are after them. */
  information(parts: readonly { group: Group; count: number; mask: number }[], probes: readonly Probe[]): number {
    const k = probes.length;
    const runs = probes.map((p) => p.runs);
    let outcomes = 1;
    for (const r of runs) outcomes *= r + 1;
    // per part: ln π(outcome | part) as a table over (failures after, failures before)
    const tables = parts.map((p) => {
      let ra = 0;
      for (let i = 0; i < k; i++) if (p.mask & (1 << i)) ra += runs[i]!;
      const rb = runs.reduce((a, b) => a + b, 0) - ra;
      const base = p.group.logL;
      const { fa, pa, fb, pb } = p.group;
      const t = new Float64Array((ra + 1) * (rb + 1));
      for (let x = 0; x <= ra; x++) {
        for (let y = 0; y <= rb; y++) t[x * (rb + 1) + y] = groupLogL(this.#model, this.#logNew, this.#logOld, fa + x, pa + ra - x, fb + y, pb + rb - y) - base;
      }
      return { t, rb, mask: p.mask, w: (p.group.weight * p.count) / p.group.size };
    });
    const j = new Array<number>(k).fill(0);
    let info = 0;
    const lp = new Float64Array(parts.length);
    for (let o = 0; o < outcomes; o++) {
      let coef = 0;
      let total = 0;
      for (let i = 0; i < k; i++) {
        coef += lnChoose(runs[i]!, j[i]!);
        total += j[i]!;
      }
      let pj = 0;
      for (let q = 0; q < tables.length; q++) {
        const tq = tables[q]!;
        let fa = 0;
        for (let i = 0; i < k; i++) if (tq.mask & (1 << i)) fa += j[i]!;
        const v = tq.t[fa * (tq.rb + 1) + (total - fa)]!;
        lp[q] = v;
        if (v > -Infinity) pj += tq.w * Math.exp(v);
      }
      if (pj > 0) {
        const lpj = Math.log(pj);
        let s = 0;
        for (let q = 0; q < tables.length; q++) {
          const v = lp[q]!;
          if (v > -Infinity) s += tables[q]!.w * Math.exp(v) * (v - lpj);
        }
        info += Math.exp(coef) * s;
      }
      // next outcome vector (mixed radix)
      for (let i = 0; i < k; i++) {
        if (++j[i]! <= runs[i]!) break;
        j[i] = 0;
      }
    }
    return Math.max(0, info);
  }

  /**
   * Up to `slots` runs for this round, each of `unit` runs: greedily the run
   * that adds most information to those already chosen. `fixed` are runs
   * already under way. Near-ties (within `tolerance` of the best) go to the
   * cached commit built earliest, then to git's walk order.
   */
  select(g: Graph, post: Posterior, input: SelectInput): Probe[] {
    const chosen: Probe[] = input.fixed.map((p) => ({ ...p }));
    let parts = partsOf(post);
    chosen.forEach((p, i) => (parts = split(g, parts, p.node, 1 << i)));
    const fixedCount = chosen.length;
    const order = [...input.candidates].sort((x, y) => rank(g, x) - rank(g, y));
    for (let slot = 0; slot < input.slots; slot++) {
      let outcomes = 1;
      for (const p of chosen) outcomes *= p.runs + 1;
      const scored: { node: number | undefined; info: number; at: number }[] = [];
      for (const node of order) {
        const at = chosen.findIndex((p) => p.node === node);
        if (at >= 0) {
          if (at < fixedCount && !input.addToFixed) continue;
          if ((outcomes / (chosen[at]!.runs + 1)) * (chosen[at]!.runs + input.unit + 1) > MAX_OUTCOMES) continue;
          const probes = chosen.map((p, i) => (i === at ? { ...p, runs: p.runs + input.unit } : p));
          scored.push({ node, info: this.information(parts, probes), at });
        } else {
          if (chosen.length >= 30 || outcomes * (input.unit + 1) > MAX_OUTCOMES) continue;
          const sized = splitSizes(g, parts, node, 1 << chosen.length);
          scored.push({ node, info: this.information(sized, [...chosen, { node, runs: input.unit }]), at: -1 });
        }
      }
      // too many outcomes to enumerate: split the posterior mass as evenly as possible instead
      const pick = scored.length > 0 ? best(scored, input) : byMass(g, parts, order, chosen);
      if (pick === null) break; // nothing more to learn this round
      if (pick.at >= 0) chosen[pick.at]!.runs += input.unit;
      else {
        parts = split(g, parts, pick.node, 1 << chosen.length);
        chosen.push({ node: pick.node, runs: input.unit });
      }
    }
    // what this round adds beyond the fixed runs
    const out: Probe[] = [];
    chosen.forEach((p, i) => {
      const extra = i < fixedCount ? p.runs - input.fixed[i]!.runs : p.runs;
      if (extra > 0) out.push({ node: p.node, runs: extra });
    });
    return out;
  }
}

export interface SelectInput {
  /** Commits that may be probed: candidates that are not skipped, and (two-sided) a good end as undefined. */
  candidates: readonly (number | undefined)[];
  slots: number;
  /** Runs per slot (the spec's repeat). */
  unit: number;
  /** Runs of this round already under way. */
  fixed: readonly Probe[];
  /** Whether more runs of a fixed probe may be added. */
  addToFixed: boolean;
  cacheRank?: ((node: number) => number | undefined) | undefined;
  tolerance: number;
}

function rank(g: Graph, node: number | undefined): number {
  return node === undefined ? -1 : g.gitOrder[node]!;
}

function best(scored: { node: number | undefined; info: number; at: number }[], input: SelectInput): { node: number | undefined; at: number } | null {
  let top = scored[0]!;
  for (const s of scored) if (s.info > top.info * (1 + 1e-9) + 1e-15) top = s;
  if (!(top.info > 1e-12)) return null;
  if (input.cacheRank) {
    let cached: { s: (typeof scored)[number]; r: number } | null = null;
    for (const s of scored) {
      if (s.node === undefined || s.info < top.info * (1 - input.tolerance)) continue;
      const r = input.cacheRank(s.node);
      if (r === undefined) continue;
      if (cached === null || r < cached.r || (r === cached.r && s.info > cached.s.info)) cached = { s, r };
    }
    if (cached) return cached.s;
  }
  return top;
}

/** The candidate whose ancestor set leaves the squared part masses smallest (the deterministic limit of the gain). */
function byMass(g: Graph, parts: readonly Part[], order: readonly (number | undefined)[], chosen: readonly Probe[]): { node: number; at: number } | null {
  let pick: { node: number; cost: number } | null = null;
  for (const node of order) {
    if (node === undefined || chosen.some((p) => p.node === node)) continue;
    let cost = 0;
    for (const p of parts) {
      const w = (p.group.weight * p.count) / p.group.size;
      const inside = (w * countAnd(p.bits, g.ancestors[node]!)) / p.count;
      cost += inside * inside + (w - inside) * (w - inside);
    }
    if (pick === null || cost < pick.cost - 1e-15) pick = { node, cost };
  }
  return pick === null ? null : { node: pick.node, at: -1 };
}


