// Stochastic binary weights (model S): sample packed ±1 weights from per-weight probabilities.
import { count5, fail, requireBuffer, requirePositive, wordsFor } from "./types";

/**
 * prob: u8 [groups][count] (one group = one (cout, ky, kx) pixel of input channels), q = P(+1)·255.
 * out:  packed u32 [groups][ceil(count/32)], padding bits 0.
 * state: xoshiro128** state, 4 × u32 (s0, s1, s2, s3) at state+0/4/8/12; read at entry and
 *        written back at exit, so successive calls continue one stream. It must not be all zero.
 *
 * Exact draw order (mirror this to reproduce the bits elsewhere):
 *   weights are visited in memory order of `prob`, i.e. group-major, then channel 0..count-1,
 *   continuing across group boundaries. Draws come in pairs from one 32-bit xoshiro128** output
 *   `v`: the first draw uses the LOW 16 bits (v & 0xffff), the next draw the HIGH 16 bits
 *   (v >>> 16); then the next output is generated. If the call consumes an odd number of draws,
 *   the unused high half of its last output is discarded (the next call starts with a fresh
 *   output). Each draw is r = (half · 255) >>> 16 ∈ {0..254}; the weight is +1 (bit 0) iff r < q,
 *   else -1 (bit 1). So q = 0 is always -1, q = 255 always +1, and P(+1) = ceil(q·65536/255)/65536.
 *
 * xoshiro128** step (all u32): result = rotl(s1·5, 7)·9; t = s1 << 9; s2 ^= s0; s3 ^= s1;
 *   s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 11).
 */
export function bernoulliPack(prob: usize, count: i32, groups: i32, out: usize, state: usize): void {
  requirePositive(count, "bernoulliPack: count must be > 0");
  requirePositive(groups, "bernoulliPack: groups must be > 0");
  const wpg = wordsFor(count);
  requireBuffer(prob, count5(groups, count, 1, 1, 1), "bernoulliPack: prob buffer out of bounds");
  requireBuffer(out, count5(groups, wpg, 4, 1, 1), "bernoulliPack: out buffer out of bounds");
  requireBuffer(state, 16, "bernoulliPack: state buffer out of bounds");
  let s0 = load<u32>(state, 0);
  let s1 = load<u32>(state, 4);
  let s2 = load<u32>(state, 8);
  let s3 = load<u32>(state, 12);
  if ((s0 | s1 | s2 | s3) == 0) fail("bernoulliPack: xoshiro128** state must not be all zero");

  let high: u32 = 0;          // pending high half of the last output
  let haveHigh = false;
  let p = prob;
  let dst = out;
  for (let g = 0; g < groups; g++) {
    for (let w = 0; w < wpg; w++, dst += 4) {
      const lim = min(32, count - (w << 5));
      let bits: u32 = 0;
      for (let j = 0; j < lim; j++, p++) {
        let half: u32;
        if (haveHigh) {
          half = high;
          haveHigh = false;
        } else {
          const v = rotl<u32>(s1 * 5, 7) * 9;
          const t = s1 << 9;
          s2 ^= s0;
          s3 ^= s1;
          s1 ^= s2;
          s0 ^= s3;
          s2 ^= t;
          s3 = rotl<u32>(s3, 11);
          half = v & 0xffff;
          high = v >>> 16;
          haveHigh = true;
        }
        const r = (half * 255) >>> 16;
        if (r >= <u32>load<u8>(p)) bits |= (<u32>1) << j;
      }
      store<u32>(dst, bits);
    }
  }
  store<u32>(state, s0, 0);
  store<u32>(state, s1, 4);
  store<u32>(state, s2, 8);
  store<u32>(state, s3, 12);
}
