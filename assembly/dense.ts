// Float dense layer and argmax.
import { count5, requireBuffer, requirePositive } from "./types";

/**
 * out[m][fout] = x[m][fin] · w[fin][fout]. Per output: start from +0 and add x[i][k]·w[k][j] in
 * ascending k (no FMA), identical in both builds (the SIMD path vectorizes over j).
 */
export function denseF32(x: usize, w: usize, out: usize, m: i32, fin: i32, fout: i32): void {
  requirePositive(m, "denseF32: m must be > 0");
  requirePositive(fin, "denseF32: fin must be > 0");
  requirePositive(fout, "denseF32: fout must be > 0");
  requireBuffer(x, count5(m, fin, 4, 1, 1), "denseF32: x buffer out of bounds");
  requireBuffer(w, count5(fin, fout, 4, 1, 1), "denseF32: w buffer out of bounds");
  requireBuffer(out, count5(m, fout, 4, 1, 1), "denseF32: out buffer out of bounds");
  const wRowBytes = <usize>fout << 2;
  for (let i = 0; i < m; i++) {
    const xr = x + <usize>i * (<usize>fin << 2);
    const orow = out + <usize>i * wRowBytes;
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      for (; j + 16 <= fout; j += 16) {
        let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
        let wp = w + (<usize>j << 2);
        for (let k = 0; k < fin; k++, wp += wRowBytes) {
          const xv = v128.load32_splat(xr + (<usize>k << 2));
          s0 = f32x4.add(s0, f32x4.mul(xv, v128.load(wp)));
          s1 = f32x4.add(s1, f32x4.mul(xv, v128.load(wp, 16)));
          s2 = f32x4.add(s2, f32x4.mul(xv, v128.load(wp, 32)));
          s3 = f32x4.add(s3, f32x4.mul(xv, v128.load(wp, 48)));
        }
        const d = orow + (<usize>j << 2);
        v128.store(d, s0);
        v128.store(d, s1, 16);
        v128.store(d, s2, 32);
        v128.store(d, s3, 48);
      }
      for (; j + 4 <= fout; j += 4) {
        let s0 = f32x4.splat(0);
        let wp = w + (<usize>j << 2);
        for (let k = 0; k < fin; k++, wp += wRowBytes) {
          s0 = f32x4.add(s0, f32x4.mul(v128.load32_splat(xr + (<usize>k << 2)), v128.load(wp)));
        }
        v128.store(orow + (<usize>j << 2), s0);
      }
    } else {
      // Scalar build: accumulate the whole row in out, k outermost (same per-output order).
      for (let jj = 0; jj < fout; jj++) store<f32>(orow + (<usize>jj << 2), 0);
      let wp = w;
      for (let k = 0; k < fin; k++) {
        const xk = load<f32>(xr + (<usize>k << 2));
        let d = orow;
        for (let jj = 0; jj < fout; jj++, d += 4, wp += 4) store<f32>(d, load<f32>(d) + xk * load<f32>(wp));
      }
      j = fout;
    }
    for (; j < fout; j++) {
      let s: f32 = 0;
      let wp = w + (<usize>j << 2);
      for (let k = 0; k < fin; k++, wp += wRowBytes) s += load<f32>(xr + (<usize>k << 2)) * load<f32>(wp);
      store<f32>(orow + (<usize>j << 2), s);
    }
  }
}

/**
 * out i32[m] = index of the largest x[i][j] over j; ties go to the lowest index. NaN entries
 * never win (comparisons with NaN are false) unless x[i][0] is NaN, in which case 0 is returned.
 */
export function argmaxF32(x: usize, m: i32, c: i32, out: usize): void {
  requirePositive(m, "argmaxF32: m must be > 0");
  requirePositive(c, "argmaxF32: c must be > 0");
  requireBuffer(x, count5(m, c, 4, 1, 1), "argmaxF32: x buffer out of bounds");
  requireBuffer(out, count5(m, 4, 1, 1, 1), "argmaxF32: out buffer out of bounds");
  let row = x;
  for (let i = 0; i < m; i++, row += <usize>c << 2) {
    let best = load<f32>(row);
    let idx = 0;
    for (let j = 1; j < c; j++) {
      const v = load<f32>(row + (<usize>j << 2));
      if (v > best) { best = v; idx = j; }
    }
    store<i32>(out + (<usize>i << 2), idx);
  }
}
