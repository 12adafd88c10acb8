// lkp's values with stacklab's meaning: a runtime with a unit (300s, 20m,
// 1h, 10d, as lkp's to_seconds reads it), a memory need (8G, 300MB, as
// lkp's to_byte reads it; 50% of the box's CPUs in GiB), and whether a job
// is a cluster job (cluster:, `if role …:` sections), which stacklab
// cannot run yet.

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };

/** A duration as written: whole seconds, or digits with a unit. */
export const DURATION_RE = /^\d+[smhdwy]?$/;

/** Seconds of a runtime value (a number, or lkp's `300s`); undefined if it is not one. */
export function durationSeconds(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 1 ? v : undefined;
  if (typeof v !== 'string' || !DURATION_RE.test(v)) return undefined;
  const unit = /[smhdwy]$/.exec(v)?.[0] ?? 's';
  const n = Number.parseInt(v, 10) * UNIT_SECONDS[unit]!;
  return n >= 1 && Number.isSafeInteger(n) ? n : undefined;
}

/** The job's runtime in seconds, or undefined when it names none (the lab's default applies). */
/** The longest runtime a job may ask for: ten years (what the store's integer columns hold with room to spare). */
export const MAX_RUNTIME = 315_360_000;

export function runtimeSeconds(job: Record<string, unknown>): number | undefined {
  return job.runtime === null || job.runtime === undefined ? undefined : durationSeconds(job.runtime);
}

/** A size as lkp writes it: digits, an optional unit K/M/G/T/P (B, and KB…PB, any case); or N%. */
export const SIZE_RE = /^(\d+)\s*(?:([kmgtp])b?|b)?$/i;
export const PERCENT_RE = /^(\d+(?:\.\d+)?)%$/;

const SHIFT: Record<string, number> = { k: 10, m: 20, g: 30, t: 40, p: 50 };

/** Bytes of a size (lkp's to_byte; a plain number is bytes); undefined for a percentage or anything else. */
export function sizeBytes(v: unknown): number | undefined {
  if (typeof v === 'number') return v >= 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = SIZE_RE.exec(v);
  if (!m) return undefined;
  return Number(m[1]) * 2 ** (m[2] ? SHIFT[m[2].toLowerCase()]! : 0);
}

export interface MemoryNeed {
  /** GiB the job needs on any box; undefined when it states none. */
  gib?: number;
  /** need_memory: N% means N/100 GiB per CPU of the box (lkp's filter): known only once a box is chosen. */
  percentOfCpus?: number;
}

/** What a job needs of memory: the larger of memory_minimum (GiB) and lkp's need_memory. */
export function memoryNeed(job: Record<string, unknown>): MemoryNeed {
  const out: MemoryNeed = {};
  const mm = typeof job.memory_minimum === 'number' && job.memory_minimum > 0 ? job.memory_minimum : undefined;
  const nm = job.need_memory;
  const bytes = sizeBytes(nm);
  const fromNeed = bytes === undefined ? undefined : bytes / 2 ** 30;
  const gib = mm === undefined ? fromNeed : fromNeed === undefined ? mm : Math.max(mm, fromNeed);
  if (gib !== undefined) out.gib = gib;
  const pct = typeof nm === 'string' ? PERCENT_RE.exec(nm) : null;
  if (pct) out.percentOfCpus = Number(pct[1]);
  return out;
}

/** Why stacklab cannot run this job (a cluster job), or undefined. */
export function clusterRefusal(job: Record<string, unknown>): string | undefined {
  const roles = Object.keys(job).filter((k) => /^if role\s/.test(k));
  if (job.cluster === undefined && roles.length === 0) return undefined;
  const what = [job.cluster !== undefined ? `cluster: ${String(job.cluster)}` : '', ...roles.map((r) => `${r}:`)].filter(Boolean).join(', ');
  return `cluster jobs need several testboxes started together, one per role (${what}); stacklab runs a job on one testbox and has no cluster testboxes yet`;
}
