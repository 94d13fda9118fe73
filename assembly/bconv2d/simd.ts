// bconv2dPopcount, SIMD variant (compiled only into the simd build).
//
// Same traversal as the scalar variant: a window is kh kernel rows, each a contiguous segment of
// rowWords = kw·wpp words in the input and in the filter (filter rows are consecutive), blocks of
// 4 output channels outermost, so a block's 4 filters stay in L1 while the pixels stream past.
// Words are counted with v128.xor, then i8x16.popcnt, which gives per-byte counts (<= 8) summed
// in i8x16 accumulators. A byte lane may receive at most MAX_BYTE_ADDS = 31 additions
// (31·8 = 248 <= 255) before it is widened to i32. Every path below counts each of its i8x16
// additions against that bound, a masked or half-empty vector included (one addition each).
//
// Blocks of 4 output channels take the first path that applies:
//  1. lanePairBlocks: the window of pixel ox+1 starts 8 bytes after that of ox (strideW·wpp = 2:
//     64 channels at stride 1, or 32 at stride 2) and rows are whole u64 units. One v128 load is
//     then [unit j of pixel ox | unit j of pixel ox+1], XORed with unit j of the filter in both
//     halves: every lane counts, with no row tail. Four pixels per pass (two such vectors) share
//     each filter load. The whole window must fit one byte accumulator (kh·kw·wpp/2 <= 31).
//  2. pairBlocks: rows of whole v128 plus at most a 2-word tail, window within 31 additions.
//     Two output pixels per pass (raster order) share each filter vector load; the two pixels'
//     2-word tails share one vector [tail A | tail B] against the filter tail in both halves,
//     split by masking the byte counts.
//  3. rowGroupBlocks: rows of at least one v128 (any tail), one pixel per pass. Rows are summed
//     in bytes in groups of floor(31 / additions per row), then widened. A tail of 1..3 words is
//     one more v128 loaded at (row end - 16 bytes), inside the row, ANDed with a mask that
//     clears the lanes already counted.
//  4. Otherwise (rows of 1 or 3 words, or rows of more than 30 vectors), the general loop:
//     v128 chunks of at most 31 vectors with widening between them, scalar popcnt for tails.
// Output channels beyond the last multiple of 4 use a one-filter version of the general loop.
// No load leaves the buffers: an input load covers only kernel-row words of the window(s) it
// counts (a pixel pair's vector spans pixel ox's row and pixel ox+1's, both valid windows; a
// masked tail vector overlaps its own row), a filter load only words of its filter.
// Arguments must already be validated (see args.ts).

/** Maximum number of i8x16.popcnt results summed into one i8x16 accumulator before widening. */
// @ts-ignore: decorator
@inline const MAX_BYTE_ADDS: i32 = 31;

/** Widens 16 byte counts to 4 i32 sums (lane i = bytes 4i..4i+3). */
// @ts-ignore: decorator
@inline function widen(b: v128): v128 {
  return i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(b));
}

/**
 * widen() for byte counts of at most 31 additions: the i16 pair sums (<= 496) are exact as signed
 * i16, so a dot product with 1s (one instruction on x64) does the second step.
 */
// @ts-ignore: decorator
@inline function widenDot(b: v128): v128 {
  return i32x4.dot_i16x8_s(i16x8.extadd_pairwise_i8x16_u(b), i16x8.splat(1));
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

/**
 * Stores two output pixels from four byte accumulators (one per filter) that hold the first
 * pixel in bytes 0..7 and the second in bytes 8..15.
 */
// @ts-ignore: decorator
@inline function storeLanePair(outPix: usize, outPixBytes: usize, t0: v128, t1: v128, t2: v128, t3: v128): void {
  const w0 = widenDot(t0), w1 = widenDot(t1), w2 = widenDot(t2), w3 = widenDot(t3);   // [A, A, B, B]
  const u01 = i32x4.add(v128.shuffle<i32>(w0, w1, 0, 4, 2, 6), v128.shuffle<i32>(w0, w1, 1, 5, 3, 7)); // [A0, A1, B0, B1]
  const u23 = i32x4.add(v128.shuffle<i32>(w2, w3, 0, 4, 2, 6), v128.shuffle<i32>(w2, w3, 1, 5, 3, 7)); // [A2, A3, B2, B3]
  v128.store(outPix, v128.shuffle<i32>(u01, u23, 0, 1, 4, 5));
  v128.store(outPix + outPixBytes, v128.shuffle<i32>(u01, u23, 2, 3, 6, 7));
}

/**
 * Path 1 (see the top of the file). Requires strideW·wpp == 2, kw·wpp even and
 * kh·kw·wpp/2 <= MAX_BYTE_ADDS. Returns the number of output channels done (cout & ~3).
 */
function lanePairBlocks(
  input: usize, weights: usize, out: usize,
  n: i32, inH: i32, inW: i32, wpp: i32, cout: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, outH: i32, outW: i32
): i32 {
  const rowWords = <usize>kw * <usize>wpp;
  const units = <i32>(rowWords >> 1);                   // u64 units per kernel row
  const total = kh * units;                              // vectors per window, <= MAX_BYTE_ADDS
  const rowBytes = rowWords << 2;
  const filterBytes = <usize>kh * rowBytes;
  const pixBytes = <usize>wpp << 2;
  const inRowBytes = <usize>inW * pixBytes;
  const imageBytes = <usize>inH * inRowBytes;
  const strideYBytes = <usize>strideH * inRowBytes;
  const outPixBytes = <usize>cout << 2;
  const nextRow = inRowBytes - rowBytes + 8;             // input step after a row's last unit
  const zero = i32x4.splat(0);
  let o = 0;
  for (; o + 4 <= cout; o += 4) {
    const f0 = weights + <usize>o * filterBytes;
    const d1 = filterBytes, d2 = filterBytes * 2, d3 = filterBytes * 3;
    let outPix = out + (<usize>o << 2);
    let image = input;
    for (let b = 0; b < n; b++, image += imageBytes) {
      let rowStart = image;
      for (let oy = 0; oy < outH; oy++, rowStart += strideYBytes) {
        let win = rowStart;
        let ox = 0;
        // Four pixels: ox, ox+1 in x; ox+2, ox+3 in y (16 bytes further).
        for (; ox + 4 <= outW; ox += 4, win += 32, outPix += outPixBytes << 2) {
          let t0 = zero, t1 = zero, t2 = zero, t3 = zero;
          let s0 = zero, s1 = zero, s2 = zero, s3 = zero;
          let p = win, q = f0;
          let j = units, v = total;
          do {                                           // one loop over the window's units
            const x = v128.load(p), y = v128.load(p, 16);
            let f = v128.load64_splat(q);
            t0 = i8x16.add(t0, i8x16.popcnt(v128.xor(x, f)));
            s0 = i8x16.add(s0, i8x16.popcnt(v128.xor(y, f)));
            f = v128.load64_splat(q + d1);
            t1 = i8x16.add(t1, i8x16.popcnt(v128.xor(x, f)));
            s1 = i8x16.add(s1, i8x16.popcnt(v128.xor(y, f)));
            f = v128.load64_splat(q + d2);
            t2 = i8x16.add(t2, i8x16.popcnt(v128.xor(x, f)));
            s2 = i8x16.add(s2, i8x16.popcnt(v128.xor(y, f)));
            f = v128.load64_splat(q + d3);
            t3 = i8x16.add(t3, i8x16.popcnt(v128.xor(x, f)));
            s3 = i8x16.add(s3, i8x16.popcnt(v128.xor(y, f)));
            q += 8;                                      // filter rows are consecutive
            const rowEnd = --j == 0;                     // branch-free row change
            p += select<usize>(nextRow, 8, rowEnd);
            j = select<i32>(units, j, rowEnd);
          } while (--v);
          storeLanePair(outPix, outPixBytes, t0, t1, t2, t3);
          storeLanePair(outPix + (outPixBytes << 1), outPixBytes, s0, s1, s2, s3);
        }
        if (ox + 2 <= outW) {
          let t0 = zero, t1 = zero, t2 = zero, t3 = zero;
          let p = win, q = f0;
          let j = units, v = total;
          do {
            const x = v128.load(p);
            t0 = i8x16.add(t0, i8x16.popcnt(v128.xor(x, v128.load64_splat(q))));
            t1 = i8x16.add(t1, i8x16.popcnt(v128.xor(x, v128.load64_splat(q + d1))));
            t2 = i8x16.add(t2, i8x16.popcnt(v128.xor(x, v128.load64_splat(q + d2))));
            t3 = i8x16.add(t3, i8x16.popcnt(v128.xor(x, v128.load64_splat(q + d3))));
            q += 8;
            const rowEnd = --j == 0;
            p += select<usize>(nextRow, 8, rowEnd);
            j = select<i32>(units, j, rowEnd);
          } while (--v);
          storeLanePair(outPix, outPixBytes, t0, t1, t2, t3);
          ox += 2; win += 16; outPix += outPixBytes << 1;
        }
        if (ox < outW) {                                 // last pixel alone: upper halves 0 on both sides
          let t0 = zero, t1 = zero, t2 = zero, t3 = zero;
          let p = win, q = f0;
          let j = units, v = total;
          do {
            const x = v128.load64_zero(p);
            t0 = i8x16.add(t0, i8x16.popcnt(v128.xor(x, v128.load64_zero(q))));
            t1 = i8x16.add(t1, i8x16.popcnt(v128.xor(x, v128.load64_zero(q + d1))));
            t2 = i8x16.add(t2, i8x16.popcnt(v128.xor(x, v128.load64_zero(q + d2))));
            t3 = i8x16.add(t3, i8x16.popcnt(v128.xor(x, v128.load64_zero(q + d3))));
            q += 8;
            const rowEnd = --j == 0;
            p += select<usize>(nextRow, 8, rowEnd);
            j = select<i32>(units, j, rowEnd);
          } while (--v);
          v128.store(outPix, hsum4(widenDot(t0), widenDot(t1), widenDot(t2), widenDot(t3)));
          outPix += outPixBytes;
        }
      }
    }
  }
  return o;
}

/**
 * Path 2 (see the top of the file). Requires kw·wpp ≡ 0 or 2 (mod 4) and
 * kh·(rowVecs + (tail ? 1 : 0)) <= MAX_BYTE_ADDS. Pixels are paired in raster order over
 * (b, oy, ox), so any outW pairs up; an odd last pixel is done alone. Returns cout & ~3.
 */
function pairBlocks(
  input: usize, weights: usize, out: usize,
  n: i32, inH: i32, inW: i32, wpp: i32, cout: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, outH: i32, outW: i32
): i32 {
  const rowWords = <usize>kw * <usize>wpp;
  const rowVecs = <i32>(rowWords >> 2);
  const tail = <i32>(rowWords & 3);                     // 0 or 2 words
  const rowBytes = rowWords << 2;
  const filterBytes = <usize>kh * rowBytes;
  const pixBytes = <usize>wpp << 2;
  const inRowBytes = <usize>inW * pixBytes;
  const imageBytes = <usize>inH * inRowBytes;
  const strideXBytes = <usize>strideW * pixBytes;
  const strideYBytes = <usize>strideH * inRowBytes;
  const outPixBytes = <usize>cout << 2;
  const pixels = n * outH * outW;                        // < 2^28: the output buffer is validated
  const lo = i64x2.replace_lane(i64x2.splat(0), 0, -1);  // bytes 0..7: first pixel of the pair
  const hi = i64x2.replace_lane(i64x2.splat(0), 1, -1);  // bytes 8..15: second pixel
  const zero = i32x4.splat(0);
  let o = 0;
  for (; o + 4 <= cout; o += 4) {
    const f0 = weights + <usize>o * filterBytes;
    const d1 = filterBytes, d2 = filterBytes * 2, d3 = filterBytes * 3;
    let outPix = out + (<usize>o << 2);
    let image = input, rowStart = input, win = input;   // window of the next pixel in raster order
    let ox = 0, oy = 0;
    let left = pixels;
    for (; left >= 2; left -= 2, outPix += outPixBytes << 1) {
      let pA = win;
      if (++ox == outW) {
        ox = 0;
        if (++oy == outH) { oy = 0; image += imageBytes; rowStart = image; } else rowStart += strideYBytes;
        win = rowStart;
      } else win += strideXBytes;
      let pB = win;
      if (++ox == outW) {
        ox = 0;
        if (++oy == outH) { oy = 0; image += imageBytes; rowStart = image; } else rowStart += strideYBytes;
        win = rowStart;
      } else win += strideXBytes;
      let a0 = zero, a1 = zero, a2 = zero, a3 = zero;   // pixel A, filters 0..3
      let c0 = zero, c1 = zero, c2 = zero, c3 = zero;   // pixel B
      let q = f0;
      let ky = kh;
      let p = pA, r = pB;
      let k = rowVecs;
      while (true) {                                     // rows, with the vector loop folded in
        if (k) {
          const x = v128.load(p), y = v128.load(r);
          let f = v128.load(q);
          a0 = i8x16.add(a0, i8x16.popcnt(v128.xor(x, f)));
          c0 = i8x16.add(c0, i8x16.popcnt(v128.xor(y, f)));
          f = v128.load(q + d1);
          a1 = i8x16.add(a1, i8x16.popcnt(v128.xor(x, f)));
          c1 = i8x16.add(c1, i8x16.popcnt(v128.xor(y, f)));
          f = v128.load(q + d2);
          a2 = i8x16.add(a2, i8x16.popcnt(v128.xor(x, f)));
          c2 = i8x16.add(c2, i8x16.popcnt(v128.xor(y, f)));
          f = v128.load(q + d3);
          a3 = i8x16.add(a3, i8x16.popcnt(v128.xor(x, f)));
          c3 = i8x16.add(c3, i8x16.popcnt(v128.xor(y, f)));
          p += 16; r += 16; q += 16;
          if (--k) continue;
        }
        if (tail) {                                      // [tail A | tail B] vs the filter tail twice
          const x = v128.load64_lane(r, v128.load64_zero(p), 1);
          let t = i8x16.popcnt(v128.xor(x, v128.load64_splat(q)));
          a0 = i8x16.add(a0, v128.and(t, lo)); c0 = i8x16.add(c0, v128.and(t, hi));
          t = i8x16.popcnt(v128.xor(x, v128.load64_splat(q + d1)));
          a1 = i8x16.add(a1, v128.and(t, lo)); c1 = i8x16.add(c1, v128.and(t, hi));
          t = i8x16.popcnt(v128.xor(x, v128.load64_splat(q + d2)));
          a2 = i8x16.add(a2, v128.and(t, lo)); c2 = i8x16.add(c2, v128.and(t, hi));
          t = i8x16.popcnt(v128.xor(x, v128.load64_splat(q + d3)));
          a3 = i8x16.add(a3, v128.and(t, lo)); c3 = i8x16.add(c3, v128.and(t, hi));
          q += 8;
        }
        if (--ky == 0) break;
        pA += inRowBytes; pB += inRowBytes;
        p = pA; r = pB; k = rowVecs;
      }
      v128.store(outPix, hsum4(widenDot(a0), widenDot(a1), widenDot(a2), widenDot(a3)));
      v128.store(outPix + outPixBytes, hsum4(widenDot(c0), widenDot(c1), widenDot(c2), widenDot(c3)));
    }
    if (left) {                                          // odd last pixel
      let a0 = zero, a1 = zero, a2 = zero, a3 = zero;
      let pA = win;
      let q = f0;
      let ky = kh;
      do {
        let p = pA;
        for (let k = rowVecs; k; k--) {
          const x = v128.load(p);
          a0 = i8x16.add(a0, i8x16.popcnt(v128.xor(x, v128.load(q))));
          a1 = i8x16.add(a1, i8x16.popcnt(v128.xor(x, v128.load(q + d1))));
          a2 = i8x16.add(a2, i8x16.popcnt(v128.xor(x, v128.load(q + d2))));
          a3 = i8x16.add(a3, i8x16.popcnt(v128.xor(x, v128.load(q + d3))));
          p += 16; q += 16;
        }
        if (tail) {                                      // upper halves 0 on both sides
          const x = v128.load64_zero(p);
          a0 = i8x16.add(a0, i8x16.popcnt(v128.xor(x, v128.load64_zero(q))));
          a1 = i8x16.add(a1, i8x16.popcnt(v128.xor(x, v128.load64_zero(q + d1))));
          a2 = i8x16.add(a2, i8x16.popcnt(v128.xor(x, v128.load64_zero(q + d2))));
          a3 = i8x16.add(a3, i8x16.popcnt(v128.xor(x, v128.load64_zero(q + d3))));
          q += 8;
        }
        pA += inRowBytes;
      } while (--ky);
      v128.store(outPix, hsum4(widenDot(a0), widenDot(a1), widenDot(a2), widenDot(a3)));
    }
  }
  return o;
}

/**
 * Path 3 (see the top of the file). Requires rowVecs >= 1 and rowVecs + (tail ? 1 : 0) <=
 * MAX_BYTE_ADDS. Returns cout & ~3.
 */
function rowGroupBlocks(
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
  const tailBack = <usize>(16 - (tail << 2));           // the tail vector starts this far before the row end
  // Lanes of the tail vector not counted yet: the last `tail` of 4.
  const mask = tail == 1 ? i32x4.replace_lane(i32x4.splat(0), 3, -1)
    : tail == 2 ? i64x2.replace_lane(i64x2.splat(0), 1, -1)
    : i32x4.replace_lane(i32x4.splat(-1), 0, 0);
  const rowsPerGroup = MAX_BYTE_ADDS / (rowVecs + (tail ? 1 : 0));   // rows summed in bytes before widening
  const zero = i32x4.splat(0);
  let o = 0;
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
          let pin = winStart;
          let q = f0;                                                // filter rows are consecutive
          let ky = kh;
          do {
            let rows = min(ky, rowsPerGroup);
            ky -= rows;
            let b0 = zero, b1 = zero, b2 = zero, b3 = zero;         // i8x16
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
              if (tail) {                                            // overlapping, masked
                p -= tailBack; q -= tailBack;
                const x = v128.load(p);
                b0 = i8x16.add(b0, i8x16.popcnt(v128.and(v128.xor(x, v128.load(q)), mask)));
                b1 = i8x16.add(b1, i8x16.popcnt(v128.and(v128.xor(x, v128.load(q + d1)), mask)));
                b2 = i8x16.add(b2, i8x16.popcnt(v128.and(v128.xor(x, v128.load(q + d2)), mask)));
                b3 = i8x16.add(b3, i8x16.popcnt(v128.and(v128.xor(x, v128.load(q + d3)), mask)));
                q += 16;
              }
              pin += inRowBytes;
            } while (--rows);
            acc0 = i32x4.add(acc0, widenDot(b0));
            acc1 = i32x4.add(acc1, widenDot(b1));
            acc2 = i32x4.add(acc2, widenDot(b2));
            acc3 = i32x4.add(acc3, widenDot(b3));
          } while (ky);
          v128.store(outPix, hsum4(acc0, acc1, acc2, acc3));
        }
      }
    }
  }
  return o;
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
  // Byte additions per row in paths 2 and 3 (a row tail is one more vector).
  const rowAdds = <u64>rowVecs + <u64>(tailWords ? 1 : 0);

  let o = 0;
  if (<i64>strideW * <i64>wpp == 2 && (rowWords & 1) == 0 && <u64>kh * <u64>(rowWords >> 1) <= <u64>MAX_BYTE_ADDS) {
    o = lanePairBlocks(input, weights, out, n, inH, inW, wpp, cout, kh, kw, strideH, strideW, outH, outW);
  } else if ((tailWords & 1) == 0 && <u64>kh * rowAdds <= <u64>MAX_BYTE_ADDS) {
    o = pairBlocks(input, weights, out, n, inH, inW, wpp, cout, kh, kw, strideH, strideW, outH, outW);
  } else if (rowVecs > 0 && rowAdds <= <u64>MAX_BYTE_ADDS) {
    o = rowGroupBlocks(input, weights, out, n, inH, inW, wpp, cout, kh, kw, strideH, strideW, outH, outW);
  }
  // Path 4: the general loop, for blocks of 4 no path above took.
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
