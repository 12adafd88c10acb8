// lkp's text-level job file rules, applied before YAML parsing as lkp does:
// `<<: file` lines are replaced by the file's text (indented to the line's
// place, so repeated `<<:` lines, later keys winning and multi-document
// includes all mean what they mean to lkp), `<<: {file: f, key: v,
// ignore: [k]}` edits that text first, and `key: {{ expr }}` becomes a
// literal block so the template survives YAML. Positions survive through
// Mapped. Beyond lkp: an included file's own includes are followed (lkp
// leaves them as `<<` keys), and `<<: [a.yaml, b.yaml]` includes each.
import { readFileSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, type Node as YNode } from 'yaml';
import { flowYaml } from './emit.ts';
import { issueAt, type JobFileIssue } from './errors.ts';
import type { SourcePos } from './located.ts';
import { Mapped } from './mapped.ts';
import { jsonOf, readPlain } from './psych.ts';
import { findInclude } from './search.ts';

export interface TextContext {
  /** Includes must resolve inside this directory or the search path; null refuses every include. */
  includeRoot: string | null;
  /** Directories searched after the including file's own (lab job directories, an lkp tree). */
  searchPath: string[];
  issues: JobFileIssue[];
  /** How a file is named in issues. */
  shown: (full: string) => string;
}

const INCLUDE_LINE = /^([ \t]*(?:-[ \t]+)*)<< *: +(.*)$/;

interface IncludeRequest {
  file: string;
  ignore: string[];
  overrides: [string, unknown][];
}

/** A small YAML value (an include's `{file: …}` options) as lkp's Ruby reads it. */
function plainValue(n: YNode | null | undefined): unknown {
  if (n == null) return null;
  if (isMap(n)) return Object.fromEntries(n.items.map((p) => [String(plainValue(p.key as YNode)), plainValue(p.value as YNode)]));
  if (isSeq(n)) return n.items.map((i) => plainValue(i as YNode));
  if (isScalar(n)) return n.type === 'PLAIN' ? jsonOf(readPlain(String(n.source ?? n.value ?? '')), String(n.source ?? '')) : String(n.value);
  return null;
}

/** What an include line asks for; undefined if it is not an include (an alias merge). */
function parseRequest(content: string, at: SourcePos, issues: JobFileIssue[]): IncludeRequest[] | undefined {
  const c = content.trim();
  if (c.startsWith('*') || (c.startsWith('[') && c.includes('*'))) return undefined;
  if (c.startsWith('{') || c.startsWith('[')) {
    const doc = parseDocument(c, { schema: 'failsafe', prettyErrors: false });
    if (doc.errors.length > 0) {
      issues.push(issueAt(at, '<<', `cannot read the include ${c}: ${doc.errors[0]!.message.split('\n')[0]}`));
      return [];
    }
    const v = doc.contents as YNode | null;
    if (isSeq(v)) {
      // <<: [a.yaml, b.yaml] (stacklab): each file in turn; a list of aliases stays a YAML merge.
      if (v.items.some((i) => !isScalar(i) || (i as { type?: string }).type === 'ALIAS')) return undefined;
      return v.items.map((i) => ({ file: String((i as { value: unknown }).value), ignore: [], overrides: [] }));
    }
    const opts = plainValue(v) as Record<string, unknown>;
    if (!isMap(v) || typeof opts.file !== 'string' || opts.file === '') {
      issues.push(issueAt(at, '<<', `an include mapping names its file: {file: name.yaml, key: value, ignore: [key]}`));
      return [];
    }
    const ignore = opts.ignore === undefined ? [] : (Array.isArray(opts.ignore) ? opts.ignore : [opts.ignore]).map(String);
    const overrides = Object.entries(opts).filter(([k]) => k !== 'file' && k !== 'ignore');
    return [{ file: opts.file, ignore, overrides }];
  }
  const quoted = /^(['"])(.*)\1$/.exec(c);
  // lkp would take a trailing comment for part of the name and fail to find the file.
  return [{ file: quoted ? quoted[2]! : c.replace(/\s+#.*$/, ''), ignore: [], overrides: [] }];
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Regex replacement on mapped text; replacements say where their text belongs. */
function replaceAll(m: Mapped, re: RegExp, fn: (match: RegExpExecArray) => Mapped): Mapped {
  const parts: Mapped[] = [];
  let last = 0;
  re.lastIndex = 0;
  for (let x = re.exec(m.text); x; x = re.exec(m.text)) {
    parts.push(m.slice(last, x.index), fn(x));
    last = x.index + x[0].length;
    if (x[0].length === 0) re.lastIndex++;
  }
  parts.push(m.slice(last));
  return Mapped.concat(parts, m.files);
}

/** lkp's include options applied to the included text: drop `ignore` keys' lines, replace or append `key: value`. */
function edit(text: Mapped, req: IncludeRequest, at: SourcePos): Mapped {
  let out = text;
  if (req.ignore.length > 0) {
    const drop = new RegExp(`^(${req.ignore.map(escapeRe).join('|')})\\s*:`);
    const kept = out.lines().filter((l) => !drop.test(out.text.slice(l.start, l.end)));
    const nl = Mapped.synth('\n', at, out.files);
    out = Mapped.concat(kept.flatMap((l, i) => (i === 0 ? [out.slice(l.start, l.end)] : [nl, out.slice(l.start, l.end)])).concat(text.text.endsWith('\n') ? [nl] : []), out.files);
  }
  for (const [key, value] of req.overrides) {
    const line = `${key}: ${flowYaml(value)}`;
    const pattern = () => new RegExp(`^(${escapeRe(key)})\\s*:\\s+.*$`, 'gm');
    // Per document, as lkp does: every document of a multi-document include gets the value.
    const sep = /^---[ \t]*\n/gm;
    const docs: Mapped[] = [];
    let last = 0;
    for (let x = sep.exec(out.text); x; x = sep.exec(out.text)) {
      docs.push(out.slice(last, x.index));
      last = x.index + x[0].length;
    }
    docs.push(out.slice(last));
    const edited = docs.map((d) => {
      if (d.text.trim() === '') return d;
      if (pattern().test(d.text)) return replaceAll(d, pattern(), () => Mapped.synth(line, at, d.files));
      const body = d.text.endsWith('\n') ? d.slice(0, d.text.length - 1) : d;
      return Mapped.concat([body, Mapped.synth(`\n${line}\n`, at, d.files)], d.files);
    });
    const dash = Mapped.synth('---\n', at, out.files);
    out = Mapped.concat(edited.flatMap((d, i) => (i === 0 ? [d] : [dash, d])), out.files);
  }
  return out;
}

function inside(file: string, root: string): boolean {
  const r = resolve(root);
  return file === r || file.startsWith(r.endsWith(sep) ? r : r + sep);
}

/** A file's text with every include line replaced by the included text. */
function includes(ctx: TextContext, m: Mapped, file: string, chain: string[]): Mapped {
  const parts: Mapped[] = [];
  for (const [i, l] of m.lines().entries()) {
    if (i > 0) parts.push(m.slice(l.start - 1, l.start));
    const line = m.text.slice(l.start, l.end);
    const x = INCLUDE_LINE.exec(line);
    const reqs = x ? parseRequest(x[2]!, m.posAt(l.start + line.indexOf(x[2]!)), ctx.issues) : undefined;
    if (!x || !reqs) {
      parts.push(m.slice(l.start, l.end));
      continue;
    }
    const at = m.posAt(l.start + line.indexOf(x[2]!));
    const prefix = x[1]!;
    const indent = prefix.replace(/[^ ]/g, ' ');
    const pieces: Mapped[] = [m.slice(l.start, l.start + prefix.length)];
    for (const req of reqs) {
      const text = included(ctx, req, dirname(file), at, chain);
      if (!text) continue;
      // Ruby's split("\n") drops trailing empty lines; each line then takes the include's indentation.
      let ls = text.lines();
      while (ls.length > 0 && ls[ls.length - 1]!.start === ls[ls.length - 1]!.end) ls = ls.slice(0, -1);
      for (const t of ls) pieces.push(Mapped.synth(`\n${indent}`, at, m.files), text.slice(t.start, t.end));
    }
    parts.push(Mapped.concat(pieces, m.files));
  }
  return Mapped.concat(parts, m.files);
}

function included(ctx: TextContext, req: IncludeRequest, dir: string, at: SourcePos, chain: string[]): Mapped | undefined {
  if (ctx.includeRoot === null) {
    ctx.issues.push(issueAt(at, '<<', 'includes are not allowed here'));
    return undefined;
  }
  const found = findInclude(req.file, dir, ctx.searchPath);
  if (!found) {
    ctx.issues.push(issueAt(at, '<<', `cannot include ${req.file}: no such file`));
    return undefined;
  }
  const target = resolve(found);
  if (!inside(target, ctx.includeRoot) && !ctx.searchPath.some((d) => inside(target, d))) {
    ctx.issues.push(issueAt(at, '<<', `${req.file} is outside ${resolve(ctx.includeRoot)}`));
    return undefined;
  }
  if (chain.includes(target)) {
    const cycle = [...chain.slice(chain.indexOf(target)), target].map(ctx.shown).join(' -> ');
    ctx.issues.push(issueAt(at, '<<', `include cycle: ${cycle}`));
    return undefined;
  }
  let raw: string;
  try {
    raw = readFileSync(target, 'utf8');
  } catch (err) {
    ctx.issues.push(issueAt(at, '<<', `cannot include ${req.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`));
    return undefined;
  }
  const own = includes(ctx, Mapped.of(raw, ctx.shown(target)), target, [...chain, target]);
  return edit(own, req, at);
}

/** `key: {{ expr }}` and `- {{ expr }}` as literal blocks (lkp's literal_double_braces). */
function literalTemplates(m: Mapped): Mapped {
  return replaceAll(m, /^([^\n]*?[:-]\s+)(\{\{[\s\S]*?\}\})/gm, (x) => {
    const start = x.index;
    const head = x[1]!;
    const indent = ' '.repeat(head.length + 1);
    const body = m.slice(start + head.length, start + x[0].length);
    const at = m.posAt(start + head.length);
    const out: Mapped[] = [m.slice(start, start + head.length), Mapped.synth('|\n', at, m.files)];
    for (const [i, l] of body.lines().entries()) {
      if (i > 0) out.push(Mapped.synth('\n', at, m.files));
      out.push(Mapped.synth(indent, at, m.files), body.slice(l.start, l.end));
    }
    return Mapped.concat(out, m.files);
  });
}

/**
 * A job file's text as lkp hands it to YAML: includes spliced in, templates
 * made literal. ERB (`<% %>`, `%` lines) runs Ruby code: refused.
 */
export function assemble(ctx: TextContext, text: string, file: string, shown: string): Mapped {
  const m = includes(ctx, Mapped.of(text, shown), file, [file]);
  const erb = /^%|<%/m.exec(m.text);
  if (erb) {
    ctx.issues.push(issueAt(m.posAt(erb.index), '', 'an ERB template (<% %> or a line starting with %) runs Ruby code; stacklab does not evaluate ERB: write the value, or a {{ }} template'));
    return m;
  }
  return literalTemplates(m);
}
