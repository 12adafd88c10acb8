// lkp's merge of one part of a job over another (revise_hash): a key
// replaces the whole value it meets (no deep merge), except that
// accumulative keys (mail_to, mail_cc, constraints, need_* but need_memory,
// need_cpu, need_modules) and keys ending in + accumulate, a key ending in
// - deletes (`perf-profile-:`, `a.b-: [x]`), and a dotted top-level key
// (`fsmark.test_size: 1G`) sets inside. Used for documents 1..N over
// document 0, for command-line overrides and for defaults files.
import { issueAt, type JobFileIssue } from './errors.ts';
import { emptyMap, type LMap, type LNode, type SourcePos } from './located.ts';

export function accumulative(k: string): boolean {
  return k === 'mail_to' || k === 'mail_cc' || k === 'constraints' || (k.startsWith('need_') && !/^need_(memory|cpu|modules)$/.test(k));
}

const isNull = (n: LNode | undefined): boolean => n === undefined || (n.kind === 'scalar' && n.value === null);

export function clone(n: LNode): LNode {
  if (n.kind === 'scalar') return { ...n };
  if (n.kind === 'seq') return { kind: 'seq', pos: n.pos, items: n.items.map(clone) };
  return { kind: 'map', pos: n.pos, entries: new Map([...n.entries].map(([k, e]) => [k, { keyPos: e.keyPos, value: clone(e.value) }])) };
}

/** lkp's merge_accumulative: lists concatenate, maps update, scalars pair up. */
function accumulate(a: LNode | undefined, b: LNode, pos: SourcePos): LNode {
  if (isNull(b)) return a ?? b;
  if (a === undefined || isNull(a)) return b;
  if (a.kind === 'seq') return { kind: 'seq', pos: a.pos, items: [...a.items, ...(b.kind === 'seq' ? b.items : [b])] };
  if (a.kind === 'map') {
    const entries = new Map(a.entries);
    if (b.kind === 'map') for (const [k, e] of b.entries) entries.set(k, { keyPos: entries.get(k)?.keyPos ?? e.keyPos, value: e.value });
    else if (b.kind === 'scalar') entries.set(String(b.value), { keyPos: b.pos, value: { kind: 'scalar', pos: b.pos, value: null, text: null } });
    return { kind: 'map', pos: a.pos, entries };
  }
  if (b.kind === 'seq') return { kind: 'seq', pos, items: [a, ...b.items] };
  if (b.kind === 'map') {
    const entries = new Map(b.entries);
    if (!entries.has(String(a.value))) entries.set(String(a.value), { keyPos: a.pos, value: { kind: 'scalar', pos: a.pos, value: null, text: null } });
    return { kind: 'map', pos: b.pos, entries };
  }
  return { kind: 'seq', pos, items: [a, b] };
}

const sameScalar = (x: LNode, y: LNode) => x.kind === 'scalar' && y.kind === 'scalar' && x.value === y.value;

/** Where a dotted path leads: the map holding its last key (made on the way when create). */
function lookup(root: LMap, path: string, create: boolean, pos: SourcePos): { parent: LMap; pkey: string; map: LMap; key: string; blocked?: string } {
  const keys = path.split('.');
  let parent = root;
  let pkey = keys[0]!;
  let map = root;
  for (let i = 0; ; i++) {
    const k = keys[i]!;
    let v = map.entries.get(k)?.value;
    const last = i === keys.length - 1;
    if (create && isNull(v)) {
      v = last ? { kind: 'scalar', pos, value: null, text: null } : emptyMap(pos);
      map.entries.set(k, { keyPos: map.entries.get(k)?.keyPos ?? pos, value: v });
    }
    if (last || v?.kind !== 'map') return { parent, pkey, map, key: k, ...(last ? {} : { blocked: keys.slice(0, i + 1).join('.') }) };
    parent = map;
    pkey = k;
    map = v;
  }
}

function minus(root: LMap, k: string, v: LNode, pos: SourcePos): void {
  const { parent, pkey, map, key } = lookup(root, k.slice(0, -1), false, pos);
  const target = map.entries.get(key);
  if (!target) return;
  if (!isNull(v) && !(v.kind === 'scalar' && v.value === false)) {
    const drop = v.kind === 'map' ? [...v.entries.keys()] : v.kind === 'seq' ? v.items : [v];
    const t = target.value;
    if (t.kind === 'map') for (const d of drop) t.entries.delete(typeof d === 'string' ? d : String((d as LNode & { value?: unknown }).value));
    else if (t.kind === 'seq') t.items = t.items.filter((it) => !drop.some((d) => typeof d !== 'string' && sameScalar(it, d)));
    // A scalar: lkp's String#delete changes nothing, and neither does this.
    if ((t.kind === 'map' && t.entries.size === 0) || (t.kind === 'seq' && t.items.length === 0)) map.entries.set(key, { keyPos: target.keyPos, value: { kind: 'scalar', pos, value: null, text: null } });
  } else {
    map.entries.delete(key);
    if (map.entries.size === 0 && parent !== map) parent.entries.set(pkey, { keyPos: parent.entries.get(pkey)!.keyPos, value: { kind: 'scalar', pos, value: null, text: null } });
  }
}

/**
 * `revisions` over `original` (a copy is returned). overwrite=false is
 * lkp's defaults rule: a key the job already has keeps its value.
 */
export function revise(original: LMap, revisions: LMap | undefined, overwrite: boolean, issues: JobFileIssue[]): LMap {
  const out = clone(original) as LMap;
  const rev = revisions ?? emptyMap(original.pos);
  const orgKeys = [...out.entries.keys()];
  for (const [k, e] of rev.entries) {
    const prev = out.entries.get(k);
    if (!prev) out.entries.set(k, { keyPos: e.keyPos, value: clone(e.value) });
    else if (k.endsWith('+') || k.endsWith('-') || accumulative(k)) out.entries.set(k, { keyPos: prev.keyPos, value: accumulate(prev.value, clone(e.value), e.keyPos) });
    else if (overwrite) out.entries.set(k, { keyPos: e.keyPos, value: clone(e.value) });
  }
  const all = [...orgKeys, ...[...rev.entries.keys()].filter((k) => !orgKeys.includes(k))];
  const consumed: string[] = [];
  for (const k of all) {
    const e = out.entries.get(k);
    if (!e) continue;
    if (k.endsWith('-') && k.length > 1) {
      minus(out, k, e.value, e.keyPos);
      consumed.push(k);
    } else if (k.endsWith('+') && k.length > 1) {
      const { map, key, blocked } = lookup(out, k.slice(0, -1), true, e.keyPos);
      if (blocked) issues.push(issueAt(e.keyPos, blocked, `cannot add to ${k.slice(0, -1)}: ${blocked} is not a mapping`));
      else {
        let v = accumulate(isNull(map.entries.get(key)?.value) ? undefined : map.entries.get(key)!.value, e.value, e.keyPos);
        if (v.kind === 'seq') v = { ...v, items: v.items.filter((it, i) => it.kind !== 'scalar' || v.kind !== 'seq' || v.items.findIndex((o) => sameScalar(o, it)) === i) };
        map.entries.set(key, { keyPos: map.entries.get(key)?.keyPos ?? e.keyPos, value: v });
      }
      consumed.push(k);
    } else if (k.includes('.') && !k.startsWith('.') && !k.endsWith('.') && !k.includes('..')) {
      const { map, key, blocked } = lookup(out, k, true, e.keyPos);
      // lkp would overwrite a scalar on the way; that loses a value silently, so it is an error here.
      if (blocked) issues.push(issueAt(e.keyPos, blocked, `cannot set ${k}: ${blocked} is not a mapping`));
      else {
        if (overwrite || map !== out || isNull(map.entries.get(key)?.value)) map.entries.set(key, { keyPos: map.entries.get(key)?.keyPos ?? e.keyPos, value: e.value });
        if (map !== out) consumed.push(k);
      }
    }
  }
  for (const k of consumed) out.entries.delete(k);
  return out;
}
