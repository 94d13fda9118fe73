import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTfjs, tf, useTfjsBackend } from '../src/tfjs/backend.js';
import { registerConvGradKernels } from '../src/tfjs/conv_grad_kernels.js';
import { nativeConv, registerNativeConvKernels, unregisterNativeConvKernels } from '../src/tfjs/native_conv.js';
import { Rng } from '../src/util/rng.js';
import { maxRelErr } from './helpers.js';

/** [y, dX, dW] of Σ conv2d(x, w) ⊙ dy on the current backend. */
function convGrads(x: Float32Array, xs: number[], w: Float32Array, ws: number[], dy: Float32Array, stride: [number, number], pad: 'same' | 'valid') {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, xs as [number, number, number, number]);
    const wt = tf.tensor4d(w, ws as [number, number, number, number]);
    const f = (a: tf.Tensor4D, b: tf.Tensor4D) => {
      const y = tf.conv2d(a, b, stride, pad);
      return tf.sum(tf.mul(y, tf.tensor(dy, y.shape)));
    };
    const [dx, dw] = tf.grads(f as (...a: tf.Tensor[]) => tf.Tensor)([xt, wt]);
    return [tf.conv2d(xt, wt, stride, pad).dataSync() as Float32Array, dx!.dataSync() as Float32Array, dw!.dataSync() as Float32Array];
  });
}

function random(n: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

// Every conv of the models (conv1/2/3 at K = 64, 128, 256) plus awkward shapes: a stride that
// leaves rows unused, asymmetric SAME padding, a kernel not divisible by the stride.
const cases: { name: string; batch: number; h: number; ci: number; k: number; co: number; s: number; pad: 'same' | 'valid'; w?: number; kw?: number; sw?: number }[] = [];
for (const K of [64, 128, 256]) {
  cases.push({ name: `conv1 K=${K}`, batch: 2, h: 28, ci: 1, k: 8, co: K, s: 2, pad: 'same' });
  cases.push({ name: `conv2 K=${K}`, batch: K === 256 ? 1 : 2, h: 14, ci: K, k: 6, co: 2 * K, s: 2, pad: 'valid' });
  cases.push({ name: `conv3 K=${K}`, batch: 2, h: 5, ci: 2 * K, k: 5, co: 2 * K, s: 1, pad: 'valid' });
}
cases.push({ name: 'odd: 13x13 k4 s3 valid', batch: 3, h: 13, ci: 5, k: 4, co: 7, s: 3, pad: 'valid' });
cases.push({ name: 'odd: 11x11 k5 s2 same', batch: 2, h: 11, ci: 3, k: 5, co: 6, s: 2, pad: 'same' });
cases.push({ name: 'odd: 9x9 k3 s1 same', batch: 2, h: 9, ci: 4, k: 3, co: 5, s: 1, pad: 'same' });
// The tap-block matrix products (strided, ≥ 16 input channels) on awkward shapes too.
cases.push({ name: 'tap blocks: 13x13 k5 s2 same', batch: 2, h: 13, ci: 16, k: 5, co: 9, s: 2, pad: 'same' });
cases.push({ name: 'tap blocks: 12x12 k4 s3 valid', batch: 3, h: 12, ci: 20, k: 4, co: 6, s: 3, pad: 'valid' });
// Any model graph: rectangular images, kernels and strides.
cases.push({ name: 'rect: 10x7 k3x2 s(2,1) same', batch: 2, h: 10, w: 7, ci: 3, k: 3, kw: 2, co: 5, s: 2, sw: 1, pad: 'same' });
cases.push({ name: 'rect: 9x12 k2x3 s(1,2) valid', batch: 2, h: 9, w: 12, ci: 4, k: 2, kw: 3, co: 6, s: 1, sw: 2, pad: 'valid' });
cases.push({ name: 'rect tap blocks: 8x11 k3x1 s(2,3) same', batch: 2, h: 8, w: 11, ci: 20, k: 3, kw: 1, co: 7, s: 2, sw: 3, pad: 'same' });
// A 1×1 output with more images than output channels: dX transposes W rather than dy.
cases.push({ name: '1x1 output, batch > channels', batch: 4, h: 5, ci: 4, k: 5, co: 3, s: 1, pad: 'valid' });

/**
 * The scalar reference: [y, dX, dW] of Σ conv2d(x, w) ⊙ dy by plain loops in float64 (TF's SAME
 * padding: the odd pixel at the bottom / right). Checked against tfjs's CPU backend below on the
 * small shapes; it replaces that backend on the large ones, where it took minutes.
 */
function referenceConvGrads(x: Float32Array, xs: number[], w: Float32Array, ws: number[], dy: Float32Array, [sh, sw]: [number, number], pad: 'same' | 'valid'): Float32Array[] {
  const [n, h, wd, ci] = xs as [number, number, number, number];
  const [kh, kw, , co] = ws as [number, number, number, number];
  const oh = pad === 'same' ? Math.ceil(h / sh) : Math.floor((h - kh) / sh) + 1;
  const ow = pad === 'same' ? Math.ceil(wd / sw) : Math.floor((wd - kw) / sw) + 1;
  const pt = pad === 'same' ? Math.floor(Math.max((oh - 1) * sh + kh - h, 0) / 2) : 0;
  const pl = pad === 'same' ? Math.floor(Math.max((ow - 1) * sw + kw - wd, 0) / 2) : 0;
  const y = new Float64Array(n * oh * ow * co);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        const yAt = ((b * oh + oy) * ow + ox) * co;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh + ky - pt;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * sw + kx - pl;
            if (ix < 0 || ix >= wd) continue;
            const xAt = ((b * h + iy) * wd + ix) * ci;
            for (let c = 0; c < ci; c++) {
              const xv = x[xAt + c]!;
              const wAt = ((ky * kw + kx) * ci + c) * co;
              let back = 0;
              for (let o = 0; o < co; o++) {
                y[yAt + o] += xv * w[wAt + o]!;
                dw[wAt + o] += xv * dy[yAt + o]!;
                back += w[wAt + o]! * dy[yAt + o]!;
              }
              dx[xAt + c] += back;
            }
          }
        }
      }
  return [Float32Array.from(y), Float32Array.from(dx), Float32Array.from(dw)];
}

/** The reference's [y, dX, dW] per case: the same inputs every time (seeded), computed once for every kernel tested. */
const cpuReference = new Map<(typeof cases)[number], Float32Array[]>();

/** Runs case `c` on wasm (as registered now) and on the CPU reference; returns the relative errors of y, dX, dW. */
async function parityErrors(c: (typeof cases)[number]): Promise<[number, number, number]> {
  const rng = new Rng(c.h * 1000 + c.co);
  const [w_, kw, sw] = [c.w ?? c.h, c.kw ?? c.k, c.sw ?? c.s];
  const xs = [c.batch, c.h, w_, c.ci];
  const ws = [c.k, kw, c.ci, c.co];
  const x = random(xs.reduce((a, b) => a * b), rng);
  const w = random(ws.reduce((a, b) => a * b), rng);
  await useTfjsBackend('wasm');
  const oh = c.pad === 'same' ? Math.ceil(c.h / c.s) : Math.floor((c.h - c.k) / c.s) + 1;
  const ow = c.pad === 'same' ? Math.ceil(w_ / sw) : Math.floor((w_ - kw) / sw) + 1;
  const dy = random(c.batch * oh * ow * c.co, rng);
  const wasm = convGrads(x, xs, w, ws, dy, [c.s, sw], c.pad);
  let cpu = cpuReference.get(c);
  if (!cpu) {
    cpu = referenceConvGrads(x, xs, w, ws, dy, [c.s, sw], c.pad);
    cpuReference.set(c, cpu);
  }
  return [0, 1, 2].map((i) => maxRelErr(wasm[i]!, cpu[i]!)) as [number, number, number];
}

test('the scalar reference agrees with tfjs\'s CPU backend (rel. error ≤ 1e-5) on every shape small enough for it', async () => {
  await initTfjs('wasm');
  await useTfjsBackend('cpu');
  try {
    for (const c of cases.filter((c) => c.ci * c.co <= 64 * 128)) {
      const rng = new Rng(c.h * 77 + c.co);
      const [w_, kw, sw] = [c.w ?? c.h, c.kw ?? c.k, c.sw ?? c.s];
      const xs = [c.batch, c.h, w_, c.ci];
      const ws = [c.k, kw, c.ci, c.co];
      const oh = c.pad === 'same' ? Math.ceil(c.h / c.s) : Math.floor((c.h - c.k) / c.s) + 1;
      const ow = c.pad === 'same' ? Math.ceil(w_ / sw) : Math.floor((w_ - kw) / sw) + 1;
      const x = random(xs.reduce((a, b) => a * b), rng);
      const w = random(ws.reduce((a, b) => a * b), rng);
      const dy = random(c.batch * oh * ow * c.co, rng);
      const tfCpu = convGrads(x, xs, w, ws, dy, [c.s, sw], c.pad);
      const ref = referenceConvGrads(x, xs, w, ws, dy, [c.s, sw], c.pad);
      for (const i of [0, 1, 2]) assert.ok(maxRelErr(ref[i]!, tfCpu[i]!) <= 1e-5, `${c.name}: ${['y', 'dX', 'dW'][i]} differs by ${maxRelErr(ref[i]!, tfCpu[i]!)}`);
    }
  } finally {
    await useTfjsBackend('wasm');
  }
});

test('wasm conv gradient kernels match the CPU reference (rel. error ≤ 1e-4), with either dX algorithm', async (t) => {
  await initTfjs('wasm');
  unregisterNativeConvKernels('wasm');
  try {
    for (const [c, dx] of [...cases.map((c) => [c, 'auto'] as const), ...cases.filter((c) => c.ci >= 16 || c.h === 5).map((c) => [c, 'phase'] as const)]) {
      await t.test(`${c.name} (dX: ${dx})`, async () => {
        registerConvGradKernels('wasm', dx);
        const [, ex, ew] = await parityErrors(c);
        assert.ok(ex <= 1e-4, `dX relative error ${ex}`);
        assert.ok(ew <= 1e-4, `dW relative error ${ew}`);
      });
    }
  } finally {
    registerConvGradKernels('wasm');
    registerNativeConvKernels('wasm');
  }
});

// CI installs libopenblas-dev and sets BNN_EDGE_REQUIRE_NATIVE=1, so there the addon must load.
const native = nativeConv();
const requireNative = process.env['BNN_EDGE_REQUIRE_NATIVE'] === '1';
test('native (OpenBLAS) conv kernels match the CPU reference (rel. error ≤ 1e-4): forward, dX and dW', { skip: !native.module && !requireNative && native.why }, async (t) => {
  assert.ok(native.module, `native kernels required but not loaded: ${native.why}`);
  await initTfjs('wasm');
  assert.ok(registerNativeConvKernels('wasm'));
  for (const c of cases) {
    await t.test(c.name, async () => {
      const [ey, ex, ew] = await parityErrors(c);
      assert.ok(ey <= 1e-4, `y relative error ${ey}`);
      assert.ok(ex <= 1e-4, `dX relative error ${ex}`);
      assert.ok(ew <= 1e-4, `dW relative error ${ew}`);
    });
  }
  await t.test('an empty batch gives an empty output and a zero filter gradient', () => {
    const [y, dw] = tf.tidy(() => {
      const x = tf.zeros([0, 6, 6, 2]) as tf.Tensor4D;
      const w = tf.ones([3, 3, 2, 4]) as tf.Tensor4D;
      const g = tf.grad((b: tf.Tensor) => tf.sum(tf.conv2d(x, b as tf.Tensor4D, 1, 'valid')))(w);
      return [tf.conv2d(x, w, 1, 'valid').shape, Array.from(g.dataSync())];
    });
    assert.deepEqual(y, [0, 4, 4, 4]);
    assert.ok((dw as number[]).every((v) => v === 0));
  });
  await t.test('the addon rejects arrays that do not match the geometry it is given', () => {
    const m = native.module!;
    // n, h, w, ci, kh, kw, co, sh, sw, padTop, padLeft, oh, ow: x needs 2·4·4·1 = 32 floats.
    const g = Int32Array.of(2, 4, 4, 1, 3, 3, 2, 1, 1, 0, 0, 2, 2);
    assert.throws(() => m.conv2dForward(new Float32Array(31), new Float32Array(18), new Float32Array(16), g), /length does not match/);
    assert.throws(() => m.conv2dForward(new Float32Array(32), new Float32Array(18), new Float32Array(15), g), /length does not match/);
    assert.throws(() => m.conv2dForward(new Float32Array(32), new Float32Array(18), new Float32Array(16), Int32Array.of(1, 2, 3)), /13 dimensions/);
    assert.throws(() => m.conv2dForward(new Float32Array(32), new Float32Array(18), new Float32Array(16), Int32Array.of(2, 4, 4, 1, 3, 3, 2, 0, 1, 0, 0, 2, 2)), /out of range/);
    const huge = Int32Array.of(1 << 20, 1 << 20, 1 << 20, 1 << 20, 1, 1, 1, 1, 1, 0, 0, 1, 1);
    assert.throws(() => m.conv2dForward(new Float32Array(32), new Float32Array(1), new Float32Array(1), huge), /overflow/);
    assert.doesNotThrow(() => m.conv2dForward(new Float32Array(32), new Float32Array(18), new Float32Array(16), g));
  });
});

test('gradient kernels release their intermediates', async () => {
  await initTfjs('wasm');
  await useTfjsBackend('wasm');
  // 8 input channels take the phase convolution, 16 the tap-block products; 1×1 outputs a product.
  for (const [h, k, ci] of [[14, 6, 8], [14, 6, 16], [5, 5, 16]] as const) {
    const x = tf.randomNormal([2, h, h, ci]) as tf.Tensor4D;
    const w = tf.randomNormal([k, k, ci, 16]) as tf.Tensor4D;
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, h === 5 ? 1 : 2, 'valid')));
    tf.dispose(g([x, w]));
    const before = tf.memory().numBytes;
    for (let i = 0; i < 5; i++) tf.dispose(g([x, w]));
    assert.equal(tf.memory().numBytes, before, `${h}×${h}×${ci}, kernel ${k}`);
    tf.dispose([x, w]);
  }
});
