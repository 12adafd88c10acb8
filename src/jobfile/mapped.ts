// Text that remembers, character by character, where it was written. lkp
// includes files and rewrites `{{ }}` templates as text, before YAML sees
// them; doing the same here keeps lkp's meaning, and this map keeps every
// position pointing at the file, line and column a person wrote.
import type { SourcePos } from './located.ts';

export class Mapped {
  readonly text: string;
  /** Per character: index into files, line and column (1-based). */
  readonly #file: Int32Array;
  readonly #line: Int32Array;
  readonly #col: Int32Array;
  readonly files: string[];

  private constructor(text: string, files: string[], file: Int32Array, line: Int32Array, col: Int32Array) {
    this.text = text;
    this.files = files;
    this.#file = file;
    this.#line = line;
    this.#col = col;
  }

  /** A file's own text: each character where it is. */
  static of(text: string, shown: string, files: string[] = []): Mapped {
    let f = files.indexOf(shown);
    if (f < 0) f = files.push(shown) - 1;
    const n = text.length;
    const file = new Int32Array(n).fill(f);
    const line = new Int32Array(n);
    const col = new Int32Array(n);
    let l = 1;
    let c = 1;
    for (let i = 0; i < n; i++) {
      line[i] = l;
      col[i] = c;
      if (text.charCodeAt(i) === 10) [l, c] = [l + 1, 1];
      else c++;
    }
    return new Mapped(text, files, file, line, col);
  }

  /** Text a transformation wrote, every character placed at `at`. */
  static synth(text: string, at: SourcePos, files: string[]): Mapped {
    let f = files.indexOf(at.file);
    if (f < 0) f = files.push(at.file) - 1;
    const n = text.length;
    return new Mapped(text, files, new Int32Array(n).fill(f), new Int32Array(n).fill(at.line), new Int32Array(n).fill(at.col));
  }

  static concat(parts: Mapped[], files: string[]): Mapped {
    const n = parts.reduce((s, p) => s + p.text.length, 0);
    const file = new Int32Array(n);
    const line = new Int32Array(n);
    const col = new Int32Array(n);
    let o = 0;
    for (const p of parts) {
      // Parts may come from other file tables: re-index their files into ours.
      const remap = p.files.map((name) => {
        const i = files.indexOf(name);
        return i >= 0 ? i : files.push(name) - 1;
      });
      for (let i = 0; i < p.text.length; i++) file[o + i] = remap[p.#file[i]!]!;
      line.set(p.#line, o);
      col.set(p.#col, o);
      o += p.text.length;
    }
    return new Mapped(parts.map((p) => p.text).join(''), files, file, line, col);
  }

  slice(from: number, to = this.text.length): Mapped {
    return new Mapped(this.text.slice(from, to), this.files, this.#file.slice(from, to), this.#line.slice(from, to), this.#col.slice(from, to));
  }

  /** Where the character at offset was written; past the end, just after the last one. */
  posAt(offset: number): SourcePos {
    const n = this.text.length;
    if (n === 0) return { file: this.files[0] ?? '', line: 1, col: 1 };
    const i = Math.max(0, Math.min(offset, n - 1));
    const pos = { file: this.files[this.#file[i]!]!, line: this.#line[i]!, col: this.#col[i]! };
    if (offset < n) return pos;
    return this.text.endsWith('\n') ? { ...pos, line: pos.line + 1, col: 1 } : { ...pos, col: pos.col + 1 };
  }

  /** The text split at newlines (dropped), each line with its offset. */
  lines(): { start: number; end: number }[] {
    const out: { start: number; end: number }[] = [];
    let start = 0;
    for (;;) {
      const nl = this.text.indexOf('\n', start);
      if (nl < 0) {
        out.push({ start, end: this.text.length });
        return out;
      }
      out.push({ start, end: nl });
      start = nl + 1;
    }
  }
}
