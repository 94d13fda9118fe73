// bconv2dPopcount, scalar optimized variant (no SIMD).
//
// Each kernel row of a window is contiguous in memory, both in the input (kw·wpp words starting
// at pixel (y, ox·strideW)) and in the weights (kw·wpp words of filter o, row ky), so a window is
// kh contiguous segments: no im2col. Segments are consumed as u64 pairs of words (i64.popcnt),
// with a trailing u32 when kw·wpp is odd. Output channels are processed in blocks of 4 (each
// loaded input u64 is XORed with 4 filters), blocks outermost so one block's filters stay in L1
// while all images/pixels stream past. Arguments must already be validated (see args.ts).

export function bconv2dPopcountScalarImpl(
  input: usize, weights: usize, out: usize,
  n: i32, inH: i32, inW: i32, wpp: i32, cout: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, outH: i32, outW: i32
): void {
  const rowWords = <usize>kw * <usize>wpp;
  const pairs = rowWords >> 1;
  const odd = (rowWords & 1) != 0;
  const rowBytes = rowWords << 2;                              // one kernel row of one filter
  const filterBytes = <usize>kh * rowBytes;                     // one whole filter
  const pixBytes = <usize>wpp << 2;
  const inRowBytes = <usize>inW * pixBytes;                      // one input image row
  const imageBytes = <usize>inH * inRowBytes;
  const strideXBytes = <usize>strideW * pixBytes;
  const strideYBytes = <usize>strideH * inRowBytes;
  const outPixBytes = <usize>cout << 2;

  let o = 0;
  for (; o + 4 <= cout; o += 4) {
    const f0 = weights + <usize>o * filterBytes;
    const f1 = f0 + filterBytes;
    const f2 = f1 + filterBytes;
    const f3 = f2 + filterBytes;
    let outPix = out + (<usize>o << 2);
    let image = input;
    for (let b = 0; b < n; b++, image += imageBytes) {
      let rowStart = image;
      for (let oy = 0; oy < outH; oy++, rowStart += strideYBytes) {
        let winStart = rowStart;
        for (let ox = 0; ox < outW; ox++, winStart += strideXBytes, outPix += outPixBytes) {
          let a0: u64 = 0, a1: u64 = 0, a2: u64 = 0, a3: u64 = 0;
          let pin = winStart;
          let wrow: usize = 0;                                   // byte offset of row ky in a filter
          for (let ky = 0; ky < kh; ky++, pin += inRowBytes, wrow += rowBytes) {
            let p = pin;
            let q0 = f0 + wrow, q1 = f1 + wrow, q2 = f2 + wrow, q3 = f3 + wrow;
            let j: usize = 0;
            for (; j + 2 <= pairs; j += 2) {             // two u64 per step: fewer pointer bumps
              const x = load<u64>(p);
              const y = load<u64>(p, 8);
              a0 += popcnt<u64>(x ^ load<u64>(q0)) + popcnt<u64>(y ^ load<u64>(q0, 8));
              a1 += popcnt<u64>(x ^ load<u64>(q1)) + popcnt<u64>(y ^ load<u64>(q1, 8));
              a2 += popcnt<u64>(x ^ load<u64>(q2)) + popcnt<u64>(y ^ load<u64>(q2, 8));
              a3 += popcnt<u64>(x ^ load<u64>(q3)) + popcnt<u64>(y ^ load<u64>(q3, 8));
              p += 16; q0 += 16; q1 += 16; q2 += 16; q3 += 16;
            }
            if (j < pairs) {
              const x = load<u64>(p);
              a0 += popcnt<u64>(x ^ load<u64>(q0));
              a1 += popcnt<u64>(x ^ load<u64>(q1));
              a2 += popcnt<u64>(x ^ load<u64>(q2));
              a3 += popcnt<u64>(x ^ load<u64>(q3));
              p += 8; q0 += 8; q1 += 8; q2 += 8; q3 += 8;
            }
            if (odd) {
              const x = load<u32>(p);
              a0 += <u64>popcnt<u32>(x ^ load<u32>(q0));
              a1 += <u64>popcnt<u32>(x ^ load<u32>(q1));
              a2 += <u64>popcnt<u32>(x ^ load<u32>(q2));
              a3 += <u64>popcnt<u32>(x ^ load<u32>(q3));
            }
          }
          store<i32>(outPix, <i32>a0);
          store<i32>(outPix, <i32>a1, 4);
          store<i32>(outPix, <i32>a2, 8);
          store<i32>(outPix, <i32>a3, 12);
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
          let a0: u64 = 0;
          let pin = winStart;
          let q0 = f0;                                           // rows of a filter are consecutive
          for (let ky = 0; ky < kh; ky++, pin += inRowBytes) {
            let p = pin;
            for (let j: usize = 0; j < pairs; j++) {
              a0 += popcnt<u64>(load<u64>(p) ^ load<u64>(q0));
              p += 8; q0 += 8;
            }
            if (odd) {
              a0 += <u64>popcnt<u32>(load<u32>(p) ^ load<u32>(q0));
              q0 += 4;
            }
          }
          store<i32>(outPix, <i32>a0);
        }
      }
    }
  }
}
