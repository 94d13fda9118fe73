// Float dense layer and argmax.
import { count5, requireBuffer, requirePositive } from "./types";

/**
 * out[m][fout] = x[m][fin] · w[fin][fout]. Per output: start from +0 and add x[i][k]·w[k][j] in
 * ascending k (no FMA), identical in both builds (the SIMD path vectorizes over j). Rows are
 * processed two at a time so every weight load serves both (the order of each sum is unchanged).
 */
export function denseF32(x: usize, w: usize, out: usize, m: i32, fin: i32, fout: i32): void {
  requirePositive(m, "denseF32: m must be > 0");
  requirePositive(fin, "denseF32: fin must be > 0");
  requirePositive(fout, "denseF32: fout must be > 0");
  requireBuffer(x, count5(m, fin, 4, 1, 1), "denseF32: x buffer out of bounds");
  requireBuffer(w, count5(fin, fout, 4, 1, 1), "denseF32: w buffer out of bounds");
  requireBuffer(out, count5(m, fout, 4, 1, 1), "denseF32: out buffer out of bounds");
  const xRowBytes = <usize>fin << 2;
  const oRowBytes = <usize>fout << 2;
  let i = 0;
  for (; i + 2 <= m; i += 2) {
    const xr = x + <usize>i * xRowBytes;
    denseRows2(xr, xr + xRowBytes, w, out + <usize>i * oRowBytes, fin, fout);
  }
  if (i < m) denseRow1(x + <usize>i * xRowBytes, w, out + <usize>i * oRowBytes, fin, fout);
}

/** Rows xa, xb → output rows at o and o + fout. */
function denseRows2(xa: usize, xb: usize, w: usize, o: usize, fin: i32, fout: i32): void {
  const wRowBytes = <usize>fout << 2;
  const ob = o + wRowBytes;
  const xend = xa + (<usize>fin << 2);
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 16 <= fout; j += 16) {
      let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
      let b0 = a0, b1 = a0, b2 = a0, b3 = a0;
      let wp = w + (<usize>j << 2);
      for (let pa = xa, pb = xb; pa < xend; pa += 4, pb += 4, wp += wRowBytes) {
        const sa = v128.load32_splat(pa);
        const sb = v128.load32_splat(pb);
        let v = v128.load(wp);
        a0 = f32x4.add(a0, f32x4.mul(sa, v));
        b0 = f32x4.add(b0, f32x4.mul(sb, v));
        v = v128.load(wp, 16);
        a1 = f32x4.add(a1, f32x4.mul(sa, v));
        b1 = f32x4.add(b1, f32x4.mul(sb, v));
        v = v128.load(wp, 32);
        a2 = f32x4.add(a2, f32x4.mul(sa, v));
        b2 = f32x4.add(b2, f32x4.mul(sb, v));
        v = v128.load(wp, 48);
        a3 = f32x4.add(a3, f32x4.mul(sa, v));
        b3 = f32x4.add(b3, f32x4.mul(sb, v));
      }
      const da = o + (<usize>j << 2), db = ob + (<usize>j << 2);
      v128.store(da, a0);
      v128.store(da, a1, 16);
      v128.store(da, a2, 32);
      v128.store(da, a3, 48);
      v128.store(db, b0);
      v128.store(db, b1, 16);
      v128.store(db, b2, 32);
      v128.store(db, b3, 48);
    }
    for (; j + 4 <= fout; j += 4) {
      let a0 = f32x4.splat(0), b0 = a0;
      let wp = w + (<usize>j << 2);
      for (let pa = xa, pb = xb; pa < xend; pa += 4, pb += 4, wp += wRowBytes) {
        const v = v128.load(wp);
        a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(pa), v));
        b0 = f32x4.add(b0, f32x4.mul(v128.load32_splat(pb), v));
      }
      v128.store(o + (<usize>j << 2), a0);
      v128.store(ob + (<usize>j << 2), b0);
    }
  } else {
    for (; j + 4 <= fout; j += 4) {
      let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
      let b0: f32 = 0, b1: f32 = 0, b2: f32 = 0, b3: f32 = 0;
      let wp = w + (<usize>j << 2);
      for (let pa = xa, pb = xb; pa < xend; pa += 4, pb += 4, wp += wRowBytes) {
        const sa = load<f32>(pa), sb = load<f32>(pb);
        let v = load<f32>(wp);
        a0 += sa * v;
        b0 += sb * v;
        v = load<f32>(wp, 4);
        a1 += sa * v;
        b1 += sb * v;
        v = load<f32>(wp, 8);
        a2 += sa * v;
        b2 += sb * v;
        v = load<f32>(wp, 12);
        a3 += sa * v;
        b3 += sb * v;
      }
      const da = o + (<usize>j << 2), db = ob + (<usize>j << 2);
      store<f32>(da, a0);
      store<f32>(da, a1, 4);
      store<f32>(da, a2, 8);
      store<f32>(da, a3, 12);
      store<f32>(db, b0);
      store<f32>(db, b1, 4);
      store<f32>(db, b2, 8);
      store<f32>(db, b3, 12);
    }
  }
  for (; j < fout; j++) {
    let a: f32 = 0, b: f32 = 0;
    let wp = w + (<usize>j << 2);
    for (let pa = xa, pb = xb; pa < xend; pa += 4, pb += 4, wp += wRowBytes) {
      const v = load<f32>(wp);
      a += load<f32>(pa) * v;
      b += load<f32>(pb) * v;
    }
    store<f32>(o + (<usize>j << 2), a);
    store<f32>(ob + (<usize>j << 2), b);
  }
}

/** One row xr → output row o. */
function denseRow1(xr: usize, w: usize, o: usize, fin: i32, fout: i32): void {
  const wRowBytes = <usize>fout << 2;
  const xend = xr + (<usize>fin << 2);
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 16 <= fout; j += 16) {
      let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
      let wp = w + (<usize>j << 2);
      for (let pa = xr; pa < xend; pa += 4, wp += wRowBytes) {
        const sa = v128.load32_splat(pa);
        a0 = f32x4.add(a0, f32x4.mul(sa, v128.load(wp)));
        a1 = f32x4.add(a1, f32x4.mul(sa, v128.load(wp, 16)));
        a2 = f32x4.add(a2, f32x4.mul(sa, v128.load(wp, 32)));
        a3 = f32x4.add(a3, f32x4.mul(sa, v128.load(wp, 48)));
      }
      const d = o + (<usize>j << 2);
      v128.store(d, a0);
      v128.store(d, a1, 16);
      v128.store(d, a2, 32);
      v128.store(d, a3, 48);
    }
    for (; j + 4 <= fout; j += 4) {
      let a0 = f32x4.splat(0);
      let wp = w + (<usize>j << 2);
      for (let pa = xr; pa < xend; pa += 4, wp += wRowBytes) {
        a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(pa), v128.load(wp)));
      }
      v128.store(o + (<usize>j << 2), a0);
    }
  } else {
    for (; j + 4 <= fout; j += 4) {
      let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
      let wp = w + (<usize>j << 2);
      for (let pa = xr; pa < xend; pa += 4, wp += wRowBytes) {
        const sa = load<f32>(pa);
        a0 += sa * load<f32>(wp);
        a1 += sa * load<f32>(wp, 4);
        a2 += sa * load<f32>(wp, 8);
        a3 += sa * load<f32>(wp, 12);
      }
      const d = o + (<usize>j << 2);
      store<f32>(d, a0);
      store<f32>(d, a1, 4);
      store<f32>(d, a2, 8);
      store<f32>(d, a3, 12);
    }
  }
  for (; j < fout; j++) {
    let a: f32 = 0;
    let wp = w + (<usize>j << 2);
    for (let pa = xr; pa < xend; pa += 4, wp += wRowBytes) a += load<f32>(pa) * load<f32>(wp);
    store<f32>(o + (<usize>j << 2), a);
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
