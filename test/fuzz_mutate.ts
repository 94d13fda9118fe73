/**
 * Mutations for the fuzzer (fuzz_child.ts), in the style of libFuzzer's: bit flips, byte and word
 * overwrites with interesting values, small arithmetic, inserted / deleted / duplicated / copied
 * ranges, truncation, crossover with another corpus entry, dictionary words, and structure-aware
 * writes to the numeric fields a target names (a .bnn's header and records). Programs of 1–5 such
 * operations are drawn by fast-check from a seed, so a run is reproducible and the values lean
 * towards the edges fast-check favours (0, 1, −1, powers of two, the largest values).
 */
import fc from 'fast-check';

export type MutationOp =
  | { readonly k: 'flip'; readonly pos: number; readonly bit: number }
  | { readonly k: 'byte'; readonly pos: number; readonly v: number }
  | { readonly k: 'word'; readonly pos: number; readonly v: number; readonly width: 2 | 4; readonly le: boolean }
  | { readonly k: 'delta'; readonly pos: number; readonly d: number; readonly width: 1 | 2 | 4 }
  | { readonly k: 'insert'; readonly pos: number; readonly bytes: Uint8Array }
  | { readonly k: 'delete'; readonly pos: number; readonly len: number }
  | { readonly k: 'dup'; readonly pos: number; readonly len: number }
  | { readonly k: 'copy'; readonly from: number; readonly to: number; readonly len: number }
  | { readonly k: 'truncate'; readonly pos: number }
  | { readonly k: 'splice'; readonly other: number; readonly pos: number; readonly from: number; readonly len: number }
  | { readonly k: 'field'; readonly field: number; readonly v: number }
  | { readonly k: 'dict'; readonly pos: number; readonly word: number; readonly insert: boolean }
  | { readonly k: 'region'; readonly pos: number; readonly v: number };

export interface MutationProgram {
  readonly ops: readonly MutationOp[];
  /** Run the target's fix-up (checksums) afterwards. */
  readonly fixup: boolean;
}

/** A numeric field of an input: where, and how wide (little-endian). */
export interface Field {
  readonly at: number;
  readonly width: 1 | 2 | 4;
  /** Big-endian (IDX dims); little-endian if absent. */
  readonly be?: boolean;
}

const INTERESTING_32 = [0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 127, 128, 255, 256, 4095, 4096, 32767, 32768, 65535, 65536, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff, 1 << 26, 1 << 28, 1 << 30];

/** A position: from the start (small values favoured) or, when negative, from the end. */
const pos = fc.oneof({ weight: 3, arbitrary: fc.nat() }, { weight: 1, arbitrary: fc.nat(64).map((x) => -1 - x) });
const len = fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 4096 }));
const word32 = fc.oneof(fc.constantFrom(...INTERESTING_32), fc.integer({ min: 0, max: 0xffffffff }));
/** Bits of interesting float32 values (for weights and statistics), or any word. */
const f32 = new DataView(new ArrayBuffer(4));
const floatBits = (x: number) => (f32.setFloat32(0, x, true), f32.getUint32(0, true));
const FLOATS = [0, -0, 1, -1, 0.5, 1e-45, -1e-45, 1e-38, 3.4e38, -3.4e38, Infinity, -Infinity, NaN, 1e-7, 65504, 16777216, 1.0000001].map(floatBits);
const valueWord = fc.oneof(fc.constantFrom(...FLOATS), word32);

const opArb: fc.Arbitrary<MutationOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('flip' as const), pos, bit: fc.nat(7) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('byte' as const), pos, v: fc.oneof(fc.constantFrom(0, 1, 0x7f, 0x80, 0xff), fc.nat(255)) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('word' as const), pos, v: word32, width: fc.constantFrom(2 as const, 4 as const), le: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('delta' as const), pos, d: fc.integer({ min: -35, max: 35 }), width: fc.constantFrom(1 as const, 2 as const, 4 as const) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('insert' as const), pos, bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('delete' as const), pos, len }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('dup' as const), pos, len }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('copy' as const), from: pos, to: pos, len }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('truncate' as const), pos }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('splice' as const), other: fc.nat(), pos, from: fc.nat(), len }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('field' as const), field: fc.nat(), v: word32 }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('dict' as const), pos, word: fc.nat(), insert: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('region' as const), pos: fc.nat(), v: valueWord }) },
);

const programArb: fc.Arbitrary<MutationProgram> = fc.record({ ops: fc.array(opArb, { minLength: 1, maxLength: 5 }), fixup: fc.boolean() });

/** Value-only programs: 1–8 writes into the target's value region, checksums repaired. */
const valueProgramArb: fc.Arbitrary<MutationProgram> = fc.record({
  ops: fc.array(fc.record({ k: fc.constant('region' as const), pos: fc.nat(), v: valueWord }), { minLength: 1, maxLength: 8 }),
  fixup: fc.constant(true),
});

/** `count` mutation programs drawn from `seed` (the same seed, the same programs); `values`: value-only ones. */
export function samplePrograms(seed: number, count: number, values = false): MutationProgram[] {
  return fc.sample(values ? valueProgramArb : programArb, { seed, numRuns: count });
}

export interface MutationContext {
  /** Other inputs for crossover. */
  readonly corpus: readonly Uint8Array[];
  /** The target's numeric fields in this input (structure-aware writes). */
  readonly fields: readonly Field[];
  readonly dictionary: readonly Uint8Array[];
  readonly maxLen: number;
  /** Where the input's values are (a .bnn's payload): 'region' writes a 4-byte value there, aligned. */
  readonly region?: readonly [number, number];
}

function at(p: number, length: number): number {
  if (length === 0) return 0;
  return p < 0 ? Math.max(0, length + p) : p % length;
}

function writeWord(b: Uint8Array, p: number, v: number, width: 1 | 2 | 4, le = true): void {
  for (let i = 0; i < width && p + i < b.length; i++) b[p + (le ? i : width - 1 - i)] = (v >>> (8 * i)) & 0xff;
}

function readWord(b: Uint8Array, p: number, width: 1 | 2 | 4): number {
  let v = 0;
  for (let i = 0; i < width && p + i < b.length; i++) v += b[p + i]! * 2 ** (8 * i);
  return v;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Applies one operation; returns the (possibly new) input. */
function applyOp(input: Uint8Array, op: MutationOp, ctx: MutationContext): Uint8Array {
  const n = input.length;
  switch (op.k) {
    case 'flip':
      if (n) input[at(op.pos, n)]! ^= 1 << op.bit;
      return input;
    case 'byte':
      if (n) input[at(op.pos, n)] = op.v;
      return input;
    case 'word':
      if (n) writeWord(input, at(op.pos, n), op.v, op.width, op.le);
      return input;
    case 'delta': {
      if (!n) return input;
      const p = at(op.pos, n);
      const max = 2 ** (8 * op.width);
      writeWord(input, p, (((readWord(input, p, op.width) + op.d) % max) + max) % max, op.width);
      return input;
    }
    case 'insert': {
      const p = at(op.pos, n + 1);
      return concat(input.subarray(0, p), op.bytes, input.subarray(p));
    }
    case 'delete': {
      const p = at(op.pos, n);
      return concat(input.subarray(0, p), input.subarray(Math.min(n, p + op.len)));
    }
    case 'dup': {
      const p = at(op.pos, n);
      const piece = input.slice(p, Math.min(n, p + op.len));
      return concat(input.subarray(0, p), piece, input.subarray(p));
    }
    case 'copy': {
      if (!n) return input;
      const from = at(op.from, n);
      const to = at(op.to, n);
      const piece = input.slice(from, Math.min(n, from + op.len));
      input.set(piece.subarray(0, Math.max(0, n - to)), to);
      return input;
    }
    case 'truncate':
      return input.subarray(0, at(op.pos, n + 1));
    case 'splice': {
      if (!ctx.corpus.length) return input;
      const other = ctx.corpus[op.other % ctx.corpus.length]!;
      const p = at(op.pos, n + 1);
      const from = at(op.from, other.length);
      // Crossover: this input up to p, then the other from `from` (as libFuzzer's CrossOver).
      return concat(input.subarray(0, p), other.subarray(from, Math.min(other.length, from + op.len)), input.subarray(Math.min(n, p + op.len)));
    }
    case 'field': {
      if (!ctx.fields.length) return input;
      const f = ctx.fields[op.field % ctx.fields.length]!;
      writeWord(input, f.at, op.v, f.width, !f.be);
      return input;
    }
    case 'dict': {
      if (!ctx.dictionary.length) return input;
      const w = ctx.dictionary[op.word % ctx.dictionary.length]!;
      const p = at(op.pos, n + 1);
      if (op.insert) return concat(input.subarray(0, p), w, input.subarray(p));
      const out = input;
      out.set(w.subarray(0, Math.max(0, n - p)), Math.min(p, n));
      return out;
    }
    case 'region': {
      const [lo, hi] = ctx.region ?? [0, n];
      const words = Math.floor((Math.min(hi, n) - lo) / 4);
      if (words > 0) writeWord(input, lo + 4 * (op.pos % words), op.v, 4);
      return input;
    }
  }
}

/** The input after the program's operations (a fresh array; never longer than maxLen). */
export function mutate(input: Uint8Array, program: MutationProgram, ctx: MutationContext): Uint8Array {
  let out: Uint8Array = input.slice();
  for (const op of program.ops) {
    out = applyOp(out, op, ctx);
    if (out.length > ctx.maxLen) out = out.slice(0, ctx.maxLen);
  }
  return out.buffer.byteLength === out.length ? out : out.slice();
}
