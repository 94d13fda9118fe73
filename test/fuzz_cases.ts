/**
 * Model-file fuzzing shared by the test suite (≥ 5,000 cases) and `npm run fuzz` (longer):
 * random mutations of real .bnn files — bit flips, byte overwrites, truncations, length and
 * offset fields set to extremes, with and without the checksum repaired — and random byte
 * strings. Each file must either load (and then run) or be rejected with a BnnFormatError; never
 * a crash, a hang, or an untyped error. A file whose checksum was not repaired must give exactly
 * the original answers if it loads.
 */
import fc from 'fast-check';
import { BnnFormatError } from '../src/format/errors.js';
import { parseBnn } from '../src/format/read.js';
import { HEADER_SIZE, LAYER_RECORD_SIZE, TENSOR_RECORD_SIZE } from '../src/format/layout.js';
import { BnnRuntime, UnsupportedModelError } from '../src/runtime/index.js';
import { fixCrc } from './helpers.js';

export type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'byte'; at: number; value: number }
  | { kind: 'truncate'; length: number }
  | { kind: 'field'; at: number; value: number }
  | { kind: 'random'; bytes: Uint8Array };

const EXTREMES = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffff0, 65536, 4096];

/** Offsets of the u32 length/offset/dim fields of a file's header and tables. */
export function numericFields(bytes: Uint8Array): number[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fields = [12, 16, 20, 40, 44, 48];
  const layers = v.getUint16(36, true);
  const tensors = v.getUint16(38, true);
  for (let i = 0; i < layers; i++) for (const o of [8, 12, 16, 20, 24, 28]) fields.push(HEADER_SIZE + i * LAYER_RECORD_SIZE + o);
  const t0 = HEADER_SIZE + layers * LAYER_RECORD_SIZE;
  for (let i = 0; i < tensors; i++) for (const o of [4, 8, 12, 16, 20, 24]) fields.push(t0 + i * TENSOR_RECORD_SIZE + o);
  return fields;
}

export function mutationArb(bytes: Uint8Array): fc.Arbitrary<Mutation> {
  const n = bytes.length;
  const fields = numericFields(bytes);
  const tableEnd = HEADER_SIZE + 4 * LAYER_RECORD_SIZE + 20 * TENSOR_RECORD_SIZE;
  return fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.integer({ min: 0, max: n - 1 }), bit: fc.integer({ min: 0, max: 7 }) }),
    // Header and tables are where structure lives: aim half the byte edits there.
    fc.record({ kind: fc.constant('byte' as const), at: fc.oneof(fc.integer({ min: 0, max: Math.min(n, tableEnd) - 1 }), fc.integer({ min: 0, max: n - 1 })), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('truncate' as const), length: fc.integer({ min: 0, max: n - 1 }) }),
    fc.record({ kind: fc.constant('field' as const), at: fc.constantFrom(...fields), value: fc.constantFrom(...EXTREMES) }),
    fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ minLength: 0, maxLength: 512 }) }),
  );
}

export function applyMutation(bytes: Uint8Array, m: Mutation): Uint8Array {
  switch (m.kind) {
    case 'flip': {
      const b = bytes.slice();
      b[m.at]! ^= 1 << m.bit;
      return b;
    }
    case 'byte': {
      const b = bytes.slice();
      b[m.at] = m.value;
      return b;
    }
    case 'truncate':
      return bytes.slice(0, m.length);
    case 'field': {
      const b = bytes.slice();
      new DataView(b.buffer).setUint32(m.at, m.value >>> 0, true);
      return b;
    }
    case 'random': {
      // Random bytes, sometimes behind a valid magic so they get past the first check.
      const b = m.bytes.slice();
      if (b.length >= 8 && b[0]! % 2 === 0) b.set(bytes.subarray(0, 8));
      return b;
    }
  }
}

export interface FuzzStats {
  cases: number;
  loaded: number;
  rejected: Record<string, number>;
}

export interface FuzzTarget {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** Logits of the unmutated file on `images`. */
  readonly logits: Float32Array;
}

export async function fuzzTarget(name: string, bytes: Uint8Array, images: Float32Array): Promise<FuzzTarget> {
  const rt = await BnnRuntime.load(bytes);
  return { name, bytes, logits: rt.logits(images, images.length / 784) };
}

/** Runs `runs` cases against a target, asserting the property; returns outcome counts. */
export async function fuzzModelFile(target: FuzzTarget, images: Float32Array, runs: number, seed: number, stats: FuzzStats): Promise<void> {
  const n = images.length / 784;
  await fc.assert(
    fc.asyncProperty(mutationArb(target.bytes), fc.boolean(), async (m, repairCrc) => {
      let file = applyMutation(target.bytes, m);
      if (repairCrc && file.length >= 24) file = fixCrc(file);
      stats.cases++;
      let model;
      try {
        model = parseBnn(file);
      } catch (e) {
        if (!(e instanceof BnnFormatError)) throw new Error(`untyped error from parseBnn (${m.kind}): ${String(e)}`);
        stats.rejected[e.code] = (stats.rejected[e.code] ?? 0) + 1;
        return;
      }
      let rt;
      try {
        rt = await BnnRuntime.fromModel(model);
      } catch (e) {
        if (!(e instanceof UnsupportedModelError)) throw e;
        stats.rejected['UNSUPPORTED'] = (stats.rejected['UNSUPPORTED'] ?? 0) + 1;
        return;
      }
      stats.loaded++;
      const logits = rt.logits(images, n);
      if (logits.length !== n * 10) throw new Error('wrong logits length');
      const changedPayload = repairCrc || file.length !== target.bytes.length;
      if (!changedPayload) {
        // Without a repaired checksum only bytes the CRC does not cover can differ: the answers must not.
        for (let i = 0; i < logits.length; i++) if (!Object.is(logits[i], target.logits[i])) throw new Error(`a file with an unrepaired checksum loaded with different answers (${m.kind} at ${'at' in m ? m.at : '-'})`);
      }
    }),
    { numRuns: runs, seed, endOnFailure: true },
  );
}
