// bconv2dPopcount, reference variant: the specification as plain nested loops.
//
// out[b][oy][ox][o] = Σ_{ky<kh, kx<kw, w<wpp} popcount(in[b][oy·strideH+ky][ox·strideW+kx][w] XOR
//                                                      wt[o][ky][kx][w])          (i32)
// Arguments must already be validated (see args.ts).

export function bconv2dPopcountReferenceImpl(
  input: usize, weights: usize, out: usize,
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
                p += <i32>popcnt<u32>(a ^ f);
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
