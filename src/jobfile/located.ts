// A YAML value that remembers where it was written. Include, multi-document
// merge, overrides and matrix expansion all work on these trees, so every
// field of every expanded job still knows its file, line and column.

export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

export interface LMap {
  kind: 'map';
  pos: SourcePos;
  entries: Map<string, { keyPos: SourcePos; value: LNode }>;
}

export interface LSeq {
  kind: 'seq';
  pos: SourcePos;
  items: LNode[];
}

export interface LScalar {
  kind: 'scalar';
  pos: SourcePos;
  value: string | number | boolean | null;
  /** The exact source text of a plain (unquoted) scalar; null for quoted ones and JSON values. */
  text: string | null;
}

export type LNode = LMap | LSeq | LScalar;

export const emptyMap = (pos: SourcePos): LMap => ({ kind: 'map', pos, entries: new Map() });

/** A located tree from plain JSON (API bodies): positions say only where the body is. */
export function fromJson(value: unknown, pos: SourcePos): LNode {
  if (Array.isArray(value)) return { kind: 'seq', pos, items: value.map((v) => fromJson(v, pos)) };
  if (value !== null && typeof value === 'object') {
    const entries = new Map<string, { keyPos: SourcePos; value: LNode }>();
    for (const [k, v] of Object.entries(value)) entries.set(k, { keyPos: pos, value: fromJson(v, pos) });
    return { kind: 'map', pos, entries };
  }
  const v = value === undefined ? null : value;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null) return { kind: 'scalar', pos, value: v, text: null };
  return { kind: 'scalar', pos, value: String(v), text: null };
}

/** The node at a path, and the position of the deepest node found on the way. */
export function locateIn(node: LNode, path: (string | number)[]): { node?: LNode; pos: SourcePos; keyPos?: SourcePos } {
  let cur: LNode = node;
  let keyPos: SourcePos | undefined;
  for (const part of path) {
    if (cur.kind === 'map') {
      const e = cur.entries.get(String(part));
      if (!e) return { pos: cur.pos };
      keyPos = e.keyPos;
      cur = e.value;
    } else if (cur.kind === 'seq') {
      const item = cur.items[Number(part)];
      if (!item) return { pos: cur.pos };
      keyPos = undefined;
      cur = item;
    } else return { pos: cur.pos };
  }
  return { node: cur, pos: cur.pos, ...(keyPos ? { keyPos } : {}) };
}
