// bconv2dPopcount, SIMD variant (compiled only into the simd build).
//
// Same traversal as the scalar variant (kernel rows are contiguous segments of kw·wpp words,
// blocks of 4 output channels outermost), but each segment is consumed 4 words (one v128) at a
// time: v128.xor, then i8x16.popcnt gives per-byte counts (<= 8) that are summed in i8x16
// accumulators. A byte lane may receive at most 31 additions (31·8 = 248 <= 255) before it is
// widened with i16x8.extadd_pairwise_i8x16_u and i32x4.extadd_pairwise_i16x8_u into i32x4
// accumulators. Segment tails (kw·wpp not a multiple of 4) use scalar popcnt.
// Arguments must already be validated (see args.ts).

/** Maximum number of i8x16.popcnt results summed into one i8x16 accumulator before widening. */
// @ts-ignore: decorator
@inline const MAX_BYTE_ADDS: i32 = 31;

/** Widens 16 byte counts to 4 i32 sums (lane i = bytes 4i..4i+3). */
// @ts-ignore: decorator
@inline function widen(b: v128): v128 {
  return i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(b));
}

/** Horizontal sums of four i32x4: returns [Σa, Σb, Σc, Σd]. */
// @ts-ignore: decorator
@inline function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  // [a0+a2, b0+b2, a1+a3, b1+b3] and [c0+c2, d0+d2, c1+c3, d1+d3]
  const ab = i32x4.add(v128.shuffle<i32>(a, b, 0, 4, 1, 5), v128.shuffle<i32>(a, b, 2, 6, 3, 7));
  const cd = i32x4.add(v128.shuffle<i32>(c, d, 0, 4, 1, 5), v128.shuffle<i32>(c, d, 2, 6, 3, 7));
  return i32x4.add(v128.shuffle<i32>(ab, cd, 0, 1, 4, 5), v128.shuffle<i32>(ab, cd, 2, 3, 6, 7));
}

/** Horizontal sum of one i32x4. */
// @ts-ignore: decorator
@inline function hsum1(a: v128): i32 {
  return i32x4.extract_lane(a, 0) + i32x4.extract_lane(a, 1) + i32x4.extract_lane(a, 2) + i32x4.extract_lane(a, 3);
}

/** Lane mask for a row tail of `tail` (1..3) words counted by a vector ending at the row end. */
// @ts-ignore: decorator
@inline function tailMask(tail: i32): v128 {
  const ones = i32x4.splat(-1);
  return tail == 1 ? i32x4.replace_lane(i32x4.splat(0), 3, -1)
    : tail == 2 ? i64x2.replace_lane(i64x2.splat(0), 1, -1)
    : i32x4.replace_lane(ones, 0, 0);
}

/** widen() for byte counts <= 248: the i16 pair sums (<= 496) fit i16, so a signed dot with 1s is exact. */
// @ts-ignore: decorator
@inline function widenDot(b: v128): v128 {
  return i32x4.dot_i16x8_s(i16x8.extadd_pairwise_i8x16_u(b), i16x8.splat(1));
}

/**
 * Blocks of 4 output channels when one window needs at most MAX_BYTE_ADDS vector additions per
 * accumulator (kh · (rowVecs + (tail ? 1 : 0)) <= 31) and rowVecs >= 1: no widening inside the
 * window. A row tail is one more vector loaded at (row end - 16), inside the row, ANDed with a
 * mask that clears the lanes already counted. Returns the first channel not done.
 */
function fastBlocks(
  input: usize, weights: usize, out: usize,
  n: i32, inH: i32, inW: i32, wpp: i32, cout: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, outH: i32, outW: i32
): i32 {
  const rowWords = <usize>kw * <usize>wpp;
  const rowVecs = <i32>(rowWords >> 2);
  const tail = <i32>(rowWords & 3);
  const rowBytes = rowWords << 2;
  const filterBytes = <usize>kh * rowBytes;
  const pixBytes = <usize>wpp << 2;
  const inRowBytes = <usize>inW * pixBytes;
  const imageBytes = <usize>inH * inRowBytes;
  const strideXBytes = <usize>strideW * pixBytes;
  const strideYBytes = <usize>strideH * inRowBytes;
  const outPixBytes = <usize>cout << 2;
  const tailBack = <usize>(16 - (tail << 2));          // tail vector starts this far before row end
  const mask = tailMask(tail);
  const rowsPerGroup = MAX_BYTE_ADDS / (rowVecs + (tail ? 1 : 0));   // rows summed in bytes before widening
  const zero = i32x4.splat(0);
  const blocks = cout >> 2;
  const d1 = filterBytes, d2 = filterBytes * 2, d3 = filterBytes * 3;
  const outRowBytes = <usize>outW * outPixBytes;
  let outRow = out;
  let image = input;
  for (let b = 0; b < n; b++, image += imageBytes) {
    let rowStart = image;
    for (let oy = 0; oy < outH; oy++, rowStart += strideYBytes, outRow += outRowBytes) {
      for (let blk = 0; blk < blocks; blk++) {
        const f0 = weights + <usize>(blk << 2) * filterBytes;
        let outPix = outRow + (<usize>blk << 4);
        let winStart = rowStart;
        for (let ox = 0; ox < outW; ox++, winStart += strideXBytes, outPix += outPixBytes) {
          let acc0 = zero, acc1 = zero, acc2 = zero, acc3 = zero;
          let t0: u64 = 0, t1: u64 = 0, t2: u64 = 0, t3: u64 = 0;
          let pin = winStart;
          let q = f0;
          let ky = kh;
          do {
            let rows = min(ky, rowsPerGroup);
            ky -= rows;
            let b0 = zero, b1 = zero, b2 = zero, b3 = zero;
            do {
              let p = pin;
              let k = rowVecs;
              do {
                const x = v128.load(p);
                b0 = i8x16.add(b0, i8x16.popcnt(v128.xor(x, v128.load(q))));
                b1 = i8x16.add(b1, i8x16.popcnt(v128.xor(x, v128.load(q + d1))));
                b2 = i8x16.add(b2, i8x16.popcnt(v128.xor(x, v128.load(q + d2))));
                b3 = i8x16.add(b3, i8x16.popcnt(v128.xor(x, v128.load(q + d3))));
                p += 16; q += 16;
              } while (--k);
              if (tail) {
                const x = load<u64>(p);
                t0 += popcnt<u64>(x ^ load<u64>(q));
                t1 += popcnt<u64>(x ^ load<u64>(q + d1));
                t2 += popcnt<u64>(x ^ load<u64>(q + d2));
                t3 += popcnt<u64>(x ^ load<u64>(q + d3));
                q += 8;
              }
              pin += inRowBytes;
            } while (--rows);
            acc0 = i32x4.add(acc0, widenDot(b0));
            acc1 = i32x4.add(acc1, widenDot(b1));
            acc2 = i32x4.add(acc2, widenDot(b2));
            acc3 = i32x4.add(acc3, widenDot(b3));
          } while (ky);
          let sums = hsum4(acc0, acc1, acc2, acc3);
          if (tail) sums = i32x4.add(sums, i32x4.replace_lane(i32x4.replace_lane(
              i32x4.replace_lane(i32x4.splat(<i32>t0), 1, <i32>t1), 2, <i32>t2), 3, <i32>t3));
          v128.store(outPix, sums);
        }
      }
    }
  }
  return blocks << 2;
}

export function bconv2dPopcountSimdImpl(
  input: usize, weights: usize, out: usize,
  n: i32, inH: i32, inW: i32, wpp: i32, cout: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, outH: i32, outW: i32
): void {
  const rowWords = <usize>kw * <usize>wpp;
  const rowVecs = <i32>(rowWords >> 2);                          // whole v128 per kernel row
  const tailWords = <i32>(rowWords & 3);
  const rowBytes = rowWords << 2;
  const filterBytes = <usize>kh * rowBytes;
  const pixBytes = <usize>wpp << 2;
  const inRowBytes = <usize>inW * pixBytes;
  const imageBytes = <usize>inH * inRowBytes;
  const strideXBytes = <usize>strideW * pixBytes;
  const strideYBytes = <usize>strideH * inRowBytes;
  const outPixBytes = <usize>cout << 2;
  const zero = i32x4.splat(0);

  let o = 0;
  if (rowVecs > 0 && (tailWords == 0 || tailWords == 2) && rowVecs + (tailWords ? 1 : 0) <= MAX_BYTE_ADDS) {
    o = fastBlocks(input, weights, out, n, inH, inW, wpp, cout, kh, kw, strideH, strideW, outH, outW);
  }
  for (; o + 4 <= cout; o += 4) {
    const f0 = weights + <usize>o * filterBytes;
    const d1 = filterBytes, d2 = filterBytes * 2, d3 = filterBytes * 3;
    let outPix = out + (<usize>o << 2);
    let image = input;
    for (let b = 0; b < n; b++, image += imageBytes) {
      let rowStart = image;
      for (let oy = 0; oy < outH; oy++, rowStart += strideYBytes) {
        let winStart = rowStart;
        for (let ox = 0; ox < outW; ox++, winStart += strideXBytes, outPix += outPixBytes) {
          let acc0 = zero, acc1 = zero, acc2 = zero, acc3 = zero;   // i32x4
          let b0 = zero, b1 = zero, b2 = zero, b3 = zero;           // i8x16
          let t0: u32 = 0, t1: u32 = 0, t2: u32 = 0, t3: u32 = 0;   // scalar tails
          let pending = 0;                                           // additions held in b0..b3
          let pin = winStart;
          let q = f0;                                                // filter rows are consecutive
          for (let ky = 0; ky < kh; ky++, pin += inRowBytes) {
            let p = pin;
            let rem = rowVecs;
            while (rem > 0) {
              const chunk = min(rem, MAX_BYTE_ADDS);
              if (pending + chunk > MAX_BYTE_ADDS) {
                acc0 = i32x4.add(acc0, widen(b0));
                acc1 = i32x4.add(acc1, widen(b1));
                acc2 = i32x4.add(acc2, widen(b2));
                acc3 = i32x4.add(acc3, widen(b3));
                b0 = zero; b1 = zero; b2 = zero; b3 = zero;
                pending = 0;
              }
              pending += chunk;
              rem -= chunk;
              let k = chunk;
              do {
                const x = v128.load(p);
                b0 = i8x16.add(b0, i8x16.popcnt(v128.xor(x, v128.load(q))));
                b1 = i8x16.add(b1, i8x16.popcnt(v128.xor(x, v128.load(q + d1))));
                b2 = i8x16.add(b2, i8x16.popcnt(v128.xor(x, v128.load(q + d2))));
                b3 = i8x16.add(b3, i8x16.popcnt(v128.xor(x, v128.load(q + d3))));
                p += 16; q += 16;
              } while (--k);
            }
            for (let t = 0; t < tailWords; t++) {
              const x = load<u32>(p);
              t0 += popcnt<u32>(x ^ load<u32>(q));
              t1 += popcnt<u32>(x ^ load<u32>(q + d1));
              t2 += popcnt<u32>(x ^ load<u32>(q + d2));
              t3 += popcnt<u32>(x ^ load<u32>(q + d3));
              p += 4; q += 4;
            }
          }
          acc0 = i32x4.add(acc0, widen(b0));
          acc1 = i32x4.add(acc1, widen(b1));
          acc2 = i32x4.add(acc2, widen(b2));
          acc3 = i32x4.add(acc3, widen(b3));
          let sums = hsum4(acc0, acc1, acc2, acc3);
          if (tailWords) {
            sums = i32x4.add(sums, i32x4.replace_lane(i32x4.replace_lane(
              i32x4.replace_lane(i32x4.splat(<i32>t0), 1, <i32>t1), 2, <i32>t2), 3, <i32>t3));
          }
          v128.store(outPix, sums);
        }
      }
    }
  }
  // Remaining 0..3 output channels, one at a time.
  for (; o < cout; o++) {
    const f0 = weights + <usize>o * filterBytes;
    let outPix = out + (<usize>o << 2);
    let image = input;
    for (let b = 0; b < n; b++, image += imageBytes) {
      let rowStart = image;
      for (let oy = 0; oy < outH; oy++, rowStart += strideYBytes) {
        let winStart = rowStart;
        for (let ox = 0; ox < outW; ox++, winStart += strideXBytes, outPix += outPixBytes) {
          let acc0 = zero, b0 = zero;
          let t0: u32 = 0;
          let pending = 0;
          let pin = winStart;
          let q = f0;
          for (let ky = 0; ky < kh; ky++, pin += inRowBytes) {
            let p = pin;
            let rem = rowVecs;
            while (rem > 0) {
              const chunk = min(rem, MAX_BYTE_ADDS);
              if (pending + chunk > MAX_BYTE_ADDS) {
                acc0 = i32x4.add(acc0, widen(b0));
                b0 = zero;
                pending = 0;
              }
              pending += chunk;
              rem -= chunk;
              let k = chunk;
              do {
                b0 = i8x16.add(b0, i8x16.popcnt(v128.xor(v128.load(p), v128.load(q))));
                p += 16; q += 16;
              } while (--k);
            }
            for (let t = 0; t < tailWords; t++) {
              t0 += popcnt<u32>(load<u32>(p) ^ load<u32>(q));
              p += 4; q += 4;
            }
          }
          acc0 = i32x4.add(acc0, widen(b0));
          store<i32>(outPix, hsum1(acc0) + <i32>t0);
        }
      }
    }
  }
}
