// bconv2dPopcountMasked: the ternary-weight binary conv (Larq's ste_tern weights in {−1, 0, +1}).
//
// out[b][oy][ox][o] = Σ_{ky<kh, kx<kw, w<wpp} popcount((in[..][w] XOR wt[o][ky][kx][w]) AND mask[o][ky][kx][w])
//
// A weight whose mask bit is 0 counts nowhere; the caller turns the count into the ±1 dot product
// with the filter's number of nonzero weights (src/model/lower.ts, BconvStep.maskWords). Two
// variants: the reference (plain nested loops, the specification) and the one the runtime calls,
// which reads each kernel row as a contiguous run of u64 words, 4 filters per loaded input word (as
// the unmasked scalar kernel, scalar.ts), at one AND and one mask load more per word. Arguments must already be validated (args.ts,
// plus the mask buffer).

export function bconv2dPopcountMaskedReferenceImpl(
  input: usize, weights: usize, mask: usize, out: usize,
  n: i32, inH: i32, inW: i32, wpp: i32, cout: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, outH: i32, outW: i32
): void {
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        for (let o = 0; o < cout; o++) {
          let p: i32 = 0;
          for (let ky = 0; ky < kh; ky++) {
            for (let kx = 0; kx < kw; kx++) {
              const y = oy * strideH + ky;
              const x = ox * strideW + kx;
              const inPix = ((<usize>b * <usize>inH + <usize>y) * <usize>inW + <usize>x) * <usize>wpp;
              const wPix = ((<usize>o * <usize>kh + <usize>ky) * <usize>kw + <usize>kx) * <usize>wpp;
              for (let w = 0; w < wpp; w++) {
                const a = load<u32>(input + ((inPix + <usize>w) << 2));
                const f = load<u32>(weights + ((wPix + <usize>w) << 2));
                const m = load<u32>(mask + ((wPix + <usize>w) << 2));
                p += <i32>popcnt<u32>((a ^ f) & m);
              }
            }
          }
          const outIdx = ((<usize>b * <usize>outH + <usize>oy) * <usize>outW + <usize>ox) * <usize>cout + <usize>o;
          store<i32>(out + (outIdx << 2), p);
        }
      }
    }
  }
}

export function bconv2dPopcountMaskedImpl(
  input: usize, weights: usize, mask: usize, out: usize,
  n: i32, inH: i32, inW: i32, wpp: i32, cout: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, outH: i32, outW: i32
): void {
  const rowWords = <usize>kw * <usize>wpp;
  const pairs = rowWords >> 1;
  const odd = (rowWords & 1) != 0;
  const rowBytes = rowWords << 2;
  const filterBytes = <usize>kh * rowBytes;
  const pixBytes = <usize>wpp << 2;
  const inRowBytes = <usize>inW * pixBytes;
  const imageBytes = <usize>inH * inRowBytes;
  const strideXBytes = <usize>strideW * pixBytes;
  const strideYBytes = <usize>strideH * inRowBytes;
  const outPixBytes = <usize>cout << 2;
  // Blocks of 4 filters outermost (as scalar.ts): each loaded input u64 serves 4 filters, whose
  // weights and masks stay in L1 while every image streams past.
  let o = 0;
  for (; o + 4 <= cout; o += 4) {
    const f0 = weights + <usize>o * filterBytes;
    const m0 = mask + <usize>o * filterBytes;
    let outPix = out + (<usize>o << 2);
    let image = input;
    for (let b = 0; b < n; b++, image += imageBytes) {
      let rowStart = image;
      for (let oy = 0; oy < outH; oy++, rowStart += strideYBytes) {
        let winStart = rowStart;
        for (let ox = 0; ox < outW; ox++, winStart += strideXBytes, outPix += outPixBytes) {
          let a0: u64 = 0, a1: u64 = 0, a2: u64 = 0, a3: u64 = 0;
          let pin = winStart;
          let q: usize = 0;                                      // byte offset of row ky in a filter
          for (let ky = 0; ky < kh; ky++, pin += inRowBytes) {
            let p = pin;
            for (let j: usize = 0; j < pairs; j++) {
              const x = load<u64>(p);
              const w0 = f0 + q, w1 = w0 + filterBytes, w2 = w1 + filterBytes, w3 = w2 + filterBytes;
              const k0 = m0 + q, k1 = k0 + filterBytes, k2 = k1 + filterBytes, k3 = k2 + filterBytes;
              a0 += popcnt<u64>((x ^ load<u64>(w0)) & load<u64>(k0));
              a1 += popcnt<u64>((x ^ load<u64>(w1)) & load<u64>(k1));
              a2 += popcnt<u64>((x ^ load<u64>(w2)) & load<u64>(k2));
              a3 += popcnt<u64>((x ^ load<u64>(w3)) & load<u64>(k3));
              p += 8; q += 8;
            }
            if (odd) {
              const x = load<u32>(p);
              const w0 = f0 + q, w1 = w0 + filterBytes, w2 = w1 + filterBytes, w3 = w2 + filterBytes;
              const k0 = m0 + q, k1 = k0 + filterBytes, k2 = k1 + filterBytes, k3 = k2 + filterBytes;
              a0 += <u64>popcnt<u32>((x ^ load<u32>(w0)) & load<u32>(k0));
              a1 += <u64>popcnt<u32>((x ^ load<u32>(w1)) & load<u32>(k1));
              a2 += <u64>popcnt<u32>((x ^ load<u32>(w2)) & load<u32>(k2));
              a3 += <u64>popcnt<u32>((x ^ load<u32>(w3)) & load<u32>(k3));
              q += 4;
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
  // Remaining 0..3 filters, one at a time.
  for (; o < cout; o++) {
    const f0 = weights + <usize>o * filterBytes;
    const m0 = mask + <usize>o * filterBytes;
    let outPix = out + (<usize>o << 2);
    let image = input;
    for (let b = 0; b < n; b++, image += imageBytes) {
      let rowStart = image;
      for (let oy = 0; oy < outH; oy++, rowStart += strideYBytes) {
        let winStart = rowStart;
        for (let ox = 0; ox < outW; ox++, winStart += strideXBytes, outPix += outPixBytes) {
          let acc: u64 = 0;
          let pin = winStart;
          let q: usize = 0;                                      // byte offset in the filter
          for (let ky = 0; ky < kh; ky++, pin += inRowBytes) {
            let p = pin;
            for (let j: usize = 0; j < pairs; j++) {
              acc += popcnt<u64>((load<u64>(p) ^ load<u64>(f0 + q)) & load<u64>(m0 + q));
              p += 8; q += 8;
            }
            if (odd) {
              acc += <u64>popcnt<u32>((load<u32>(p) ^ load<u32>(f0 + q)) & load<u32>(m0 + q));
              q += 4;
            }
          }
          store<i32>(outPix, <i32>acc);
        }
      }
    }
  }
}
