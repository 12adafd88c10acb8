// Fixed-size bit sets over candidate indices: ancestor sets and partitions
// of the candidates are intersected and counted many times per round.

export type Bits = Uint32Array;

export function bits(size: number): Bits {
  return new Uint32Array((size + 31) >>> 5);
}

export function setBit(b: Bits, i: number): void {
  b[i >>> 5]! |= 1 << (i & 31);
}

export function hasBit(b: Bits, i: number): boolean {
  return (b[i >>> 5]! & (1 << (i & 31))) !== 0;
}

export function orInto(target: Bits, src: Bits): void {
  for (let w = 0; w < target.length; w++) target[w]! |= src[w]!;
}

function pop32(v: number): number {
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

export function count(b: Bits): number {
  let n = 0;
  for (let w = 0; w < b.length; w++) n += pop32(b[w]!);
  return n;
}

/** |a ∩ b| */
export function countAnd(a: Bits, b: Bits): number {
  let n = 0;
  for (let w = 0; w < a.length; w++) n += pop32(a[w]! & b[w]!);
  return n;
}

export function and(a: Bits, b: Bits): Bits {
  const r = new Uint32Array(a.length);
  for (let w = 0; w < a.length; w++) r[w] = a[w]! & b[w]!;
  return r;
}

export function andNot(a: Bits, b: Bits): Bits {
  const r = new Uint32Array(a.length);
  for (let w = 0; w < a.length; w++) r[w] = a[w]! & ~b[w]!;
  return r;
}

export function members(b: Bits): number[] {
  const out: number[] = [];
  for (let w = 0; w < b.length; w++) {
    let v = b[w]!;
    while (v !== 0) {
      const low = v & -v;
      out.push((w << 5) + 31 - Math.clz32(low));
      v ^= low;
    }
  }
  return out;
}

export function clearBit(b: Bits, i: number): void {
  b[i >>> 5]! &= ~(1 << (i & 31));
}
