// Streaming XOR + popcount ceiling: the best-case throughput the binary conv can aim for.
import { count5, requireBuffer, requirePositive } from "./types";

function checkPeakArgs(a: usize, b: usize, words: i32, reps: i32): void {
  requirePositive(words, "xorPopcountPeak: words must be > 0");
  requirePositive(reps, "xorPopcountPeak: reps must be > 0");
  requireBuffer(a, count5(words, 4, 1, 1, 1), "xorPopcountPeak: a buffer out of bounds");
  requireBuffer(b, count5(words, 4, 1, 1, 1), "xorPopcountPeak: b buffer out of bounds");
}

/** reps × Σ_i popcount(a[i] ^ b[i]) with i64.popcnt on word pairs. Arguments validated. */
function peakScalarImpl(a: usize, b: usize, words: i32, reps: i32): i64 {
  const pairs = <usize>words >> 1;
  const odd = (words & 1) != 0;
  let total: u64 = 0;
  for (let r = 0; r < reps; r++) {
    let p = a, q = b;
    let s0: u64 = 0, s1: u64 = 0;
    let j: usize = 0;
    for (; j + 2 <= pairs; j += 2, p += 16, q += 16) {
      s0 += popcnt<u64>(load<u64>(p) ^ load<u64>(q));
      s1 += popcnt<u64>(load<u64>(p, 8) ^ load<u64>(q, 8));
    }
    if (j < pairs) {
      s0 += popcnt<u64>(load<u64>(p) ^ load<u64>(q));
      p += 8; q += 8;
    }
    if (odd) s1 += <u64>popcnt<u32>(load<u32>(p) ^ load<u32>(q));
    total += s0 + s1;
  }
  return <i64>total;
}

// @ts-ignore: decorator
@inline function widen(v: v128): v128 {
  return i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(v));
}

/** acc (i64x2) += the four u32 lanes of v. */
// @ts-ignore: decorator
@inline function addWide(acc: v128, v: v128): v128 {
  return i64x2.add(acc, i64x2.add(i64x2.extend_low_i32x4_u(v), i64x2.extend_high_i32x4_u(v)));
}

/** SIMD version: i8x16.popcnt into two i8x16 accumulators (<= 31 adds each), then widen. */
function peakSimdImpl(a: usize, b: usize, words: i32, reps: i32): i64 {
  const vecs = words >> 2;
  const tail = words & 3;
  const zero = i32x4.splat(0);
  let total: u64 = 0;
  for (let r = 0; r < reps; r++) {
    let p = a, q = b;
    let acc = zero;                 // i64x2: exact even for multi-GiB streams
    let rem = vecs;
    while (rem >= 2) {
      const pairs = min(rem >> 1, 31);
      rem -= pairs << 1;
      let b0 = zero, b1 = zero;
      let k = pairs;
      do {
        b0 = i8x16.add(b0, i8x16.popcnt(v128.xor(v128.load(p), v128.load(q))));
        b1 = i8x16.add(b1, i8x16.popcnt(v128.xor(v128.load(p, 16), v128.load(q, 16))));
        p += 32; q += 32;
      } while (--k);
      acc = addWide(acc, i32x4.add(widen(b0), widen(b1)));
    }
    if (rem) {
      acc = addWide(acc, widen(i8x16.popcnt(v128.xor(v128.load(p), v128.load(q)))));
      p += 16; q += 16;
    }
    let s: u64 = <u64>i64x2.extract_lane(acc, 0) + <u64>i64x2.extract_lane(acc, 1);
    for (let t = 0; t < tail; t++, p += 4, q += 4) s += <u64>popcnt<u32>(load<u32>(p) ^ load<u32>(q));
    total += s;
  }
  return <i64>total;
}

/** Streaming ceiling: SIMD in the simd build, i64.popcnt otherwise. Returns the exact total. */
export function xorPopcountPeak(a: usize, b: usize, words: i32, reps: i32): i64 {
  checkPeakArgs(a, b, words, reps);
  if (ASC_FEATURE_SIMD) return peakSimdImpl(a, b, words, reps);
  return peakScalarImpl(a, b, words, reps);
}

/** Scalar (i64.popcnt) streaming ceiling, present in both builds. */
export function xorPopcountPeakScalar(a: usize, b: usize, words: i32, reps: i32): i64 {
  checkPeakArgs(a, b, words, reps);
  return peakScalarImpl(a, b, words, reps);
}
