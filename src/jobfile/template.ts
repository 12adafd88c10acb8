// `{{ expr }}` templates as lkp evaluates them during expansion, for the
// part of Ruby job files use: the job's variables (`fs`, `aim7.test`),
// literals, == != =~ !~ < > <= >= && || ! and or not, ?:, + - * / %,
// if/elsif/else/end, case/when/then/else/end, and a few methods (to_s,
// to_i, to_f, size, include?, start_with?, downcase …). It is an
// interpreter of that subset, never Ruby: anything else is refused with a
// message saying so, and nothing outside the job can be reached.

import { rubyFloat } from './psych.ts';

export class TemplateError extends Error {}

type Value = null | boolean | number | string | RegExp | Value[] | { [k: string]: Value };

type Tok = { t: 'num'; v: number } | { t: 'str'; v: string } | { t: 're'; v: RegExp } | { t: 'id'; v: string } | { t: 'op'; v: string } | { t: 'nl' } | { t: 'end' };

const KEYWORDS = new Set(['if', 'elsif', 'else', 'end', 'case', 'when', 'then', 'unless', 'and', 'or', 'not', 'nil', 'true', 'false']);
const OPS = ['==', '!=', '=~', '!~', '<=', '>=', '&&', '||', '<', '>', '!', '?', ':', '+', '-', '*', '/', '%', '(', ')', '[', ']', ',', '.'];

const SUBSET =
  'stacklab evaluates {{ }} templates in a subset of Ruby: the job\u2019s variables, string, number and /regex/ literals, == != =~ !~ < > <= >= && || !, ?:, + - * / %, if/elsif/else/end, case/when and to_s/to_i/to_f/size/include?/start_with?/end_with?/downcase/upcase/strip/empty?/nil?';

function refuse(what: string): never {
  throw new TemplateError(`${what} is outside it (${SUBSET})`);
}

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const valueBefore = () => {
    const p = out[out.length - 1];
    return p !== undefined && (p.t === 'num' || p.t === 'str' || p.t === 're' || (p.t === 'id' && !KEYWORDS.has(p.v)) || (p.t === 'op' && (p.v === ')' || p.v === ']')) || (p.t === 'id' && (p.v === 'nil' || p.v === 'true' || p.v === 'false' || p.v === 'end')));
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\r') i++;
    else if (c === '\n' || c === ';') {
      out.push({ t: 'nl' });
      i++;
    } else if (c === '#') while (i < src.length && src[i] !== '\n') i++;
    else if (/\d/.test(c)) {
      const m = /^\d[\d_]*(\.\d[\d_]*)?([eE][-+]?\d+)?/.exec(src.slice(i))!;
      out.push({ t: 'num', v: Number(m[0].replace(/_/g, '')) });
      i += m[0].length;
    } else if (c === "'" || c === '"') {
      let s = '';
      i++;
      while (i < src.length && src[i] !== c) {
        if (src[i] === '\\' && i + 1 < src.length) {
          const e = src[i + 1]!;
          s += c === "'" ? (e === "'" || e === '\\' ? e : `\\${e}`) : ({ n: '\n', t: '\t', '\\': '\\', '"': '"', "'": "'" } as Record<string, string>)[e] ?? e;
          i += 2;
        } else {
          if (c === '"' && src[i] === '#' && src[i + 1] === '{') refuse('string interpolation #{…}');
          s += src[i++];
        }
      }
      if (i >= src.length) throw new TemplateError('a string is not closed');
      i++;
      out.push({ t: 'str', v: s });
    } else if (c === '/' && !valueBefore()) {
      let j = i + 1;
      let body = '';
      while (j < src.length && src[j] !== '/') {
        if (src[j] === '\\' && j + 1 < src.length) body += src[j++];
        if (src[j] === '\n') throw new TemplateError('a /regex/ is not closed');
        body += src[j++];
      }
      if (j >= src.length) throw new TemplateError('a /regex/ is not closed');
      j++;
      const flags = /^[imx]*/.exec(src.slice(j))![0];
      j += flags.length;
      if (flags.includes('x') || /\(\?[<=!]|\\[AzZG]/.test(body)) refuse(`the regex /${body}/${flags}`);
      try {
        out.push({ t: 're', v: new RegExp(body, flags.includes('i') ? 'i' : '') });
      } catch {
        refuse(`the regex /${body}/`);
      }
      i = j;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*[?!]?/.exec(src.slice(i))!;
      out.push({ t: 'id', v: m[0] });
      i += m[0].length;
    } else {
      const op = OPS.find((o) => src.startsWith(o, i));
      if (!op) refuse(`\`${src.slice(i, i + 8).split('\n')[0]}\``);
      out.push({ t: 'op', v: op });
      i += op.length;
    }
  }
  out.push({ t: 'end' });
  return out;
}

type Node =
  | { k: 'lit'; v: Value }
  | { k: 'var'; name: string }
  | { k: 'call'; obj: Node; name: string; args: Node[] }
  | { k: 'un'; op: string; a: Node }
  | { k: 'bin'; op: string; a: Node; b: Node }
  | { k: 'if'; arms: { cond: Node; body: Node }[]; else?: Node }
  | { k: 'case'; subject?: Node; whens: { vals: Node[]; body: Node }[]; else?: Node }
  | { k: 'arr'; items: Node[] }
  | { k: 'seq'; items: Node[] };

class Parser {
  #t: Tok[];
  #i = 0;
  constructor(t: Tok[]) {
    this.#t = t;
  }
  peek(): Tok {
    return this.#t[this.#i]!;
  }
  next(): Tok {
    return this.#t[this.#i++]!;
  }
  isOp(v: string): boolean {
    const p = this.peek();
    return p.t === 'op' && p.v === v;
  }
  isId(v: string): boolean {
    const p = this.peek();
    return p.t === 'id' && p.v === v;
  }
  skipNl(): void {
    while (this.peek().t === 'nl') this.#i++;
  }
  expectOp(v: string): void {
    this.skipNl();
    if (!this.isOp(v)) throw new TemplateError(`expected ${v}`);
    this.#i++;
  }
  expectId(v: string): void {
    this.skipNl();
    if (!this.isId(v)) throw new TemplateError(`expected ${v}`);
    this.#i++;
  }
  /** Statements up to one of the stop words; the value is the last one's. */
  body(stops: string[]): Node {
    const items: Node[] = [];
    for (;;) {
      this.skipNl();
      const p = this.peek();
      if (p.t === 'end' || (p.t === 'id' && stops.includes(p.v)) || (p.t === 'op' && p.v === ')')) break;
      items.push(this.expr());
      const q = this.peek();
      if (q.t !== 'nl' && q.t !== 'end' && !(q.t === 'id' && stops.includes(q.v)) && !(q.t === 'op' && q.v === ')')) throw new TemplateError('expected the end of a statement');
    }
    return items.length === 1 ? items[0]! : { k: 'seq', items };
  }
  expr(): Node {
    return this.wordOr();
  }
  wordOr(): Node {
    let a = this.wordNot();
    while (this.isId('or') || this.isId('and')) {
      const op = (this.next() as { v: string }).v === 'or' ? '||' : '&&';
      this.skipNl();
      a = { k: 'bin', op, a, b: this.wordNot() };
    }
    return a;
  }
  wordNot(): Node {
    if (this.isId('not')) {
      this.next();
      return { k: 'un', op: '!', a: this.wordNot() };
    }
    return this.ternary();
  }
  ternary(): Node {
    const c = this.or();
    if (!this.isOp('?')) return c;
    this.next();
    this.skipNl();
    const a = this.ternary();
    this.expectOp(':');
    this.skipNl();
    return { k: 'if', arms: [{ cond: c, body: a }], else: this.ternary() };
  }
  binary(ops: string[], sub: () => Node): Node {
    let a = sub();
    for (;;) {
      const p = this.peek();
      if (p.t !== 'op' || !ops.includes(p.v)) return a;
      this.next();
      this.skipNl();
      a = { k: 'bin', op: p.v, a, b: sub() };
    }
  }
  or = (): Node => this.binary(['||'], this.and);
  and = (): Node => this.binary(['&&'], this.not);
  not = (): Node => {
    if (this.isOp('!')) {
      this.next();
      return { k: 'un', op: '!', a: this.not() };
    }
    return this.cmp();
  };
  cmp = (): Node => this.binary(['==', '!=', '=~', '!~', '<', '>', '<=', '>='], this.add);
  add = (): Node => this.binary(['+', '-'], this.mul);
  mul = (): Node => this.binary(['*', '/', '%'], this.unary);
  unary = (): Node => {
    if (this.isOp('-')) {
      this.next();
      return { k: 'un', op: '-', a: this.unary() };
    }
    return this.postfix();
  };
  postfix(): Node {
    let n = this.primary();
    while (this.isOp('.')) {
      this.next();
      const name = this.next();
      if (name.t !== 'id') throw new TemplateError('expected a name after .');
      const args: Node[] = [];
      if (this.isOp('(')) {
        this.next();
        this.skipNl();
        while (!this.isOp(')')) {
          args.push(this.expr());
          this.skipNl();
          if (this.isOp(',')) this.next();
          else break;
        }
        this.expectOp(')');
      }
      n = { k: 'call', obj: n, name: name.v, args };
    }
    return n;
  }
  primary(): Node {
    this.skipNl();
    const t = this.next();
    if (t.t === 'num' || t.t === 'str' || t.t === 're') return { k: 'lit', v: t.v };
    if (t.t === 'op' && t.v === '(') {
      const e = this.body([]);
      this.expectOp(')');
      return e;
    }
    if (t.t === 'op' && t.v === '[') {
      const items: Node[] = [];
      this.skipNl();
      while (!this.isOp(']')) {
        items.push(this.expr());
        this.skipNl();
        if (this.isOp(',')) this.next();
        this.skipNl();
      }
      this.next();
      return { k: 'arr', items };
    }
    if (t.t === 'id') {
      switch (t.v) {
        case 'nil':
          return { k: 'lit', v: null };
        case 'true':
          return { k: 'lit', v: true };
        case 'false':
          return { k: 'lit', v: false };
        case 'if':
        case 'unless': {
          const arms: { cond: Node; body: Node }[] = [];
          let cond = this.expr();
          if (t.v === 'unless') cond = { k: 'un', op: '!', a: cond };
          if (this.isId('then')) this.next();
          arms.push({ cond, body: this.body(['elsif', 'else', 'end']) });
          while (this.isId('elsif')) {
            this.next();
            const c = this.expr();
            if (this.isId('then')) this.next();
            arms.push({ cond: c, body: this.body(['elsif', 'else', 'end']) });
          }
          let els: Node | undefined;
          if (this.isId('else')) {
            this.next();
            els = this.body(['end']);
          }
          this.expectId('end');
          return { k: 'if', arms, ...(els ? { else: els } : {}) };
        }
        case 'case': {
          const subject = this.peek().t === 'nl' ? undefined : this.expr();
          this.skipNl();
          const whens: { vals: Node[]; body: Node }[] = [];
          while (this.isId('when')) {
            this.next();
            const vals = [this.expr()];
            while (this.isOp(',')) {
              this.next();
              this.skipNl();
              vals.push(this.expr());
            }
            if (this.isId('then')) this.next();
            whens.push({ vals, body: this.body(['when', 'else', 'end']) });
          }
          let els: Node | undefined;
          if (this.isId('else')) {
            this.next();
            els = this.body(['end']);
          }
          this.expectId('end');
          return { k: 'case', ...(subject ? { subject } : {}), whens, ...(els ? { else: els } : {}) };
        }
        default:
          if (KEYWORDS.has(t.v)) throw new TemplateError(`unexpected ${t.v}`);
          if (this.isOp('(')) refuse(`calling ${t.v}(…)`);
          return { k: 'var', name: t.v };
      }
    }
    if (t.t === 'end') throw new TemplateError('the template ends too early');
    throw new TemplateError(`unexpected ${t.t === 'op' ? t.v : t.t}`);
  }
}

const truthy = (v: Value) => v !== null && v !== false;
const isHash = (v: Value): v is { [k: string]: Value } => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof RegExp);

function rubyS(v: Value): string {
  if (v === null) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : rubyFloat(v);
  if (Array.isArray(v)) return `[${v.map(inspect).join(', ')}]`;
  if (v instanceof RegExp) return `(?-mix:${v.source})`;
  if (isHash(v)) return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}=>${inspect(x)}`).join(', ')}}`;
  return String(v);
}
const inspect = (v: Value): string => (typeof v === 'string' ? JSON.stringify(v) : v === null ? 'nil' : rubyS(v));

function eq(a: Value, b: Value): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => eq(x, b[i]!));
  if (isHash(a) && isHash(b)) return Object.keys(a).length === Object.keys(b).length && Object.keys(a).every((k) => k in b && eq(a[k]!, b[k]!));
  return a === b;
}

function match(a: Value, b: Value): number | null {
  const [s, re] = a instanceof RegExp ? [b, a] : [a, b];
  if (!(re instanceof RegExp)) throw new TemplateError('=~ needs a /regex/');
  if (typeof s !== 'string') return null;
  const i = s.search(re);
  return i < 0 ? null : i;
}

function typeName(v: Value): string {
  if (v === null) return 'nil';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof RegExp) return 'a regex';
  if (isHash(v)) return 'a mapping';
  return typeof v === 'number' ? 'a number' : typeof v === 'string' ? 'a string' : 'true/false';
}

function arith(op: string, a: Value, b: Value): Value {
  if (typeof a === 'number' && typeof b === 'number') {
    if (op === '+') return a + b;
    if (op === '-') return a - b;
    if (op === '*') return a * b;
    if (b === 0 && Number.isInteger(a) && Number.isInteger(b)) throw new TemplateError('division by zero');
    if (op === '/') return Number.isInteger(a) && Number.isInteger(b) ? Math.floor(a / b) : a / b;
    return Number.isInteger(a) && Number.isInteger(b) ? ((a % b) + b) % b : a % b;
  }
  if (op === '+' && typeof a === 'string' && typeof b === 'string') return a + b;
  if (op === '+' && Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
  if (op === '*' && typeof a === 'string' && typeof b === 'number') return a.repeat(Math.max(0, b));
  throw new TemplateError(`${typeName(a)} ${op} ${typeName(b)} is not defined`);
}

function compare(op: string, a: Value, b: Value): boolean {
  if (!((typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string'))) throw new TemplateError(`cannot compare ${typeName(a)} with ${typeName(b)}`);
  return op === '<' ? a < b : op === '>' ? a > b : op === '<=' ? a <= b : a >= b;
}

function method(obj: Value, name: string, args: Value[]): Value {
  if (isHash(obj) && args.length === 0 && Object.hasOwn(obj, name)) return obj[name]!;
  const arg = (i: number) => {
    if (args[i] === undefined) throw new TemplateError(`${name} needs an argument`);
    return args[i]!;
  };
  switch (name) {
    case 'to_s':
      return rubyS(obj);
    case 'to_i':
      if (typeof obj === 'number') return Math.trunc(obj);
      if (typeof obj === 'string') return Number(/^\s*[-+]?\d+/.exec(obj.replace(/_/g, ''))?.[0] ?? 0);
      if (obj === null) return 0;
      break;
    case 'to_f':
      if (typeof obj === 'number') return obj;
      if (typeof obj === 'string') return Number(/^\s*[-+]?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(obj)?.[0] ?? 0);
      if (obj === null) return 0;
      break;
    case 'nil?':
      return obj === null;
    case 'empty?':
      if (typeof obj === 'string' || Array.isArray(obj)) return obj.length === 0;
      if (isHash(obj)) return Object.keys(obj).length === 0;
      break;
    case 'size':
    case 'length':
      if (typeof obj === 'string' || Array.isArray(obj)) return obj.length;
      if (isHash(obj)) return Object.keys(obj).length;
      break;
    case 'include?':
      if (typeof obj === 'string' && typeof arg(0) === 'string') return obj.includes(arg(0) as string);
      if (Array.isArray(obj)) return obj.some((x) => eq(x, arg(0)));
      if (isHash(obj)) return Object.hasOwn(obj, String(arg(0)));
      break;
    case 'start_with?':
    case 'end_with?':
      if (typeof obj === 'string' && typeof arg(0) === 'string') return name === 'start_with?' ? obj.startsWith(arg(0) as string) : obj.endsWith(arg(0) as string);
      break;
    case 'downcase':
    case 'upcase':
    case 'strip':
      if (typeof obj === 'string') return name === 'downcase' ? obj.toLowerCase() : name === 'upcase' ? obj.toUpperCase() : obj.trim();
      break;
    case 'first':
    case 'last':
      if (Array.isArray(obj)) return (name === 'first' ? obj[0] : obj[obj.length - 1]) ?? null;
      break;
    default:
      if (isHash(obj)) throw new TemplateError(`unknown variable ${name} (the mapping has ${Object.keys(obj).join(', ') || 'no keys'})`);
      refuse(`the method .${name}`);
  }
  throw new TemplateError(`.${name} is not defined for ${typeName(obj)}`);
}

function evaluate(n: Node, vars: { [k: string]: Value }): Value {
  switch (n.k) {
    case 'lit':
      return n.v;
    case 'var':
      if (!Object.hasOwn(vars, n.name)) {
        if (/^[A-Z]/.test(n.name)) refuse(`the Ruby constant ${n.name}`);
        throw new TemplateError(`unknown variable ${n.name}: the job has no ${n.name}`);
      }
      return vars[n.name]!;
    case 'arr':
      return n.items.map((i) => evaluate(i, vars));
    case 'seq': {
      let v: Value = null;
      for (const i of n.items) v = evaluate(i, vars);
      return v;
    }
    case 'call':
      return method(evaluate(n.obj, vars), n.name, n.args.map((a) => evaluate(a, vars)));
    case 'un': {
      const a = evaluate(n.a, vars);
      if (n.op === '!') return !truthy(a);
      if (typeof a !== 'number') throw new TemplateError(`-${typeName(a)} is not defined`);
      return -a;
    }
    case 'bin': {
      if (n.op === '&&') {
        const a = evaluate(n.a, vars);
        return truthy(a) ? evaluate(n.b, vars) : a;
      }
      if (n.op === '||') {
        const a = evaluate(n.a, vars);
        return truthy(a) ? a : evaluate(n.b, vars);
      }
      const a = evaluate(n.a, vars);
      const b = evaluate(n.b, vars);
      switch (n.op) {
        case '==':
          return eq(a, b);
        case '!=':
          return !eq(a, b);
        case '=~':
          return match(a, b);
        case '!~':
          return match(a, b) === null;
        case '<':
        case '>':
        case '<=':
        case '>=':
          return compare(n.op, a, b);
        default:
          return arith(n.op, a, b);
      }
    }
    case 'if':
      for (const arm of n.arms) if (truthy(evaluate(arm.cond, vars))) return evaluate(arm.body, vars);
      return n.else ? evaluate(n.else, vars) : null;
    case 'case': {
      const subject = n.subject ? evaluate(n.subject, vars) : undefined;
      for (const w of n.whens) {
        for (const vn of w.vals) {
          const v = evaluate(vn, vars);
          const hit = subject === undefined ? truthy(v) : v instanceof RegExp ? typeof subject === 'string' && v.test(subject) : eq(v, subject);
          if (hit) return evaluate(w.body, vars);
        }
      }
      return n.else ? evaluate(n.else, vars) : null;
    }
  }
}

export type TemplateValue = Value;

/** The value of one template expression against the job's variables (plain JSON values). */
export function evalTemplate(expr: string, vars: Record<string, unknown>): Value {
  const p = new Parser(lex(expr));
  const ast = p.body([]);
  p.skipNl();
  if (p.peek().t !== 'end') throw new TemplateError('unexpected text after the expression');
  return evaluate(ast, vars as { [k: string]: Value });
}

/** Ruby's to_s of a template's value, for a template written inside a longer string. */
export const templateString = rubyS;
