// Plain YAML scalars read the way lkp-tests reads them: Ruby's Psych, YAML
// 1.1 (on/off/yes/no are booleans, 010 is octal, 1,000 is 1000, 1:30 is
// base 60). Our own rules, written from Psych's documented behaviour; a
// job file means the same to stacklab as to lkp.

export type RubyScalar =
  | { type: 'null' }
  | { type: 'bool'; value: boolean }
  | { type: 'int'; value: bigint }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string }
  /** Dates, times and :symbols: Ruby objects with no JSON form; stacklab keeps their text. */
  | { type: 'other'; value: string };

const TIME = /^-?\d{4}-\d{1,2}-\d{1,2}(?:[Tt]|\s+)\d{1,2}:\d\d:\d\d(?:\.\d*)?(?:\s*(?:Z|[-+]\d{1,2}:?(?:\d\d)?))?$/;
const DATE = /^\d{4}-(?:1[012]|0\d|\d)-(?:[12]\d|3[01]|0\d|\d)$/;
const FLOAT = /^[-+]?(?:[0-9][0-9_,]*)?\.[0-9]*(?:[eE][-+][0-9]+)?$/;
const INTEGER = /^(?:[-+]?0b[0-1_,]+|[-+]?0[0-7_,]+|[-+]?(?:0|[1-9](?:[0-9]|,[0-9]|_[0-9])*)|[-+]?0x[0-9a-fA-F_,]+)$/;
// Psych's test for "this is certainly a string" (a prefix match, as Psych does it).
const WORDY = /^[^\d.:-]?[\p{L}_\s!@#$%^&*(){}<>|/\\~;=]+/u;

function parseInt(text: string): bigint {
  const s = text.replace(/[,_]/g, '');
  const neg = s.startsWith('-');
  const body = s.replace(/^[-+]/, '');
  let n: bigint;
  if (/^0b/i.test(body)) n = BigInt(body);
  else if (/^0x/i.test(body)) n = BigInt(body);
  else if (body.length > 1 && body.startsWith('0')) n = BigInt(`0o${body.slice(1)}`);
  else n = BigInt(body);
  return neg ? -n : n;
}

/** What Psych makes of a plain (unquoted, untagged) scalar. */
export function readPlain(text: string): RubyScalar {
  if (text === '') return { type: 'null' };
  if (WORDY.test(text) || text.includes('\n')) {
    if (text.length > 5 || /^[^ytonf~]/i.test(text)) return { type: 'string', value: text };
    if (text === '~' || /^null$/i.test(text)) return { type: 'null' };
    if (/^(yes|true|on)$/i.test(text)) return { type: 'bool', value: true };
    if (/^(no|false|off)$/i.test(text)) return { type: 'bool', value: false };
    return { type: 'string', value: text };
  }
  if (TIME.test(text) || DATE.test(text)) return { type: 'other', value: text };
  if (/^\+?\.inf$/i.test(text)) return { type: 'float', value: Infinity };
  if (/^-\.inf$/i.test(text)) return { type: 'float', value: -Infinity };
  if (/^\.nan$/i.test(text)) return { type: 'float', value: NaN };
  if (/^:./.test(text)) return { type: 'other', value: text };
  if (/^[-+]?[0-9][0-9_]*(:[0-5]?[0-9]){1,2}$/.test(text)) {
    const parts = text.split(':');
    let n = 0n;
    parts.forEach((p, e) => {
      n += parseInt(p.replace(/^[-+]/, '')) * 60n ** BigInt(Math.abs(e - 2));
    });
    return { type: 'int', value: text.startsWith('-') ? -n : n };
  }
  if (/^[-+]?[0-9][0-9_]*(:[0-5]?[0-9]){1,2}\.[0-9_]*$/.test(text)) {
    let f = 0;
    text.split(':').forEach((p, e) => {
      f += Number(p.replace(/_/g, '')) * 60 ** Math.abs(e - 2);
    });
    return { type: 'float', value: f };
  }
  if (FLOAT.test(text)) {
    if (/^[-+]?\.$/.test(text)) return { type: 'string', value: text };
    return { type: 'float', value: Number(text.replace(/[,_]/g, '').replace(/\.([Ee]|$)/, '$1')) };
  }
  if (INTEGER.test(text)) return { type: 'int', value: parseInt(text) };
  return { type: 'string', value: text };
}

/** Ruby's Float#to_s: shortest round-trip digits, `1.0`, `1.0e+20`, `1.5e-05`. */
export function rubyFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (!Number.isFinite(f)) return f > 0 ? 'Infinity' : '-Infinity';
  if (f === 0) return Object.is(f, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(f);
  if (abs >= 1e-4 && abs < 1e16) {
    // Both languages print the shortest round-trip digits; in this range JS never uses an exponent.
    const s = String(f);
    return s.includes('.') ? s : `${s}.0`;
  }
  const [mant, exp] = f.toExponential().split('e') as [string, string];
  const m = mant.includes('.') ? mant : `${mant}.0`;
  const sign = exp.startsWith('-') ? '-' : '+';
  return `${m}e${sign}${exp.replace(/^[-+]/, '').padStart(2, '0')}`;
}

/** The JSON value stacklab keeps for a Ruby scalar: what Ruby holds, where JSON can say it without loss. */
export function jsonOf(r: RubyScalar, text: string): string | number | boolean | null {
  switch (r.type) {
    case 'null':
      return null;
    case 'bool':
      return r.value;
    case 'int':
      return r.value >= BigInt(Number.MIN_SAFE_INTEGER) && r.value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(r.value) : r.value.toString();
    case 'float': {
      // A float JSON would print otherwise (1.0 as 1, 1e+20) keeps Ruby's spelling, so the suite sees what lkp's job.sh gives.
      const s = rubyFloat(r.value);
      return /^-?\d+\.\d*[1-9]$/.test(s) ? r.value : s;
    }
    case 'string':
      return r.value;
    case 'other':
      return text;
  }
}

/** Ruby's to_s of a plain value (for keys, string interpolation and job.sh). */
export function rubyToS(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : rubyFloat(v);
  return String(v);
}
