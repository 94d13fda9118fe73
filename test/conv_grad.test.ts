import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTfjs, tf, useTfjsBackend } from '../src/tfjs/backend.js';
import { registerConvGradKernels } from '../src/tfjs/conv_grad_kernels.js';
import { Rng } from '../src/util/rng.js';

/** [dX, dW] of Σ conv2d(x, w) ⊙ dy on the current backend. */
function convGrads(x: Float32Array, xs: number[], w: Float32Array, ws: number[], dy: Float32Array, stride: number, pad: 'same' | 'valid') {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, xs as [number, number, number, number]);
    const wt = tf.tensor4d(w, ws as [number, number, number, number]);
    const f = (a: tf.Tensor4D, b: tf.Tensor4D) => {
      const y = tf.conv2d(a, b, stride, pad);
      return tf.sum(tf.mul(y, tf.tensor(dy, y.shape)));
    };
    const [dx, dw] = tf.grads(f as (...a: tf.Tensor[]) => tf.Tensor)([xt, wt]);
    return [dx!.dataSync() as Float32Array, dw!.dataSync() as Float32Array];
  });
}

function relErr(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

function random(n: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

// Every conv of the models (conv1/2/3 at K = 64, 128, 256) plus awkward shapes: a stride that
// leaves rows unused, asymmetric SAME padding, a kernel not divisible by the stride.
const cases: { name: string; batch: number; h: number; ci: number; k: number; co: number; s: number; pad: 'same' | 'valid' }[] = [];
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
// A 1×1 output with more images than output channels: dX transposes W rather than dy.
cases.push({ name: '1x1 output, batch > channels', batch: 4, h: 5, ci: 4, k: 5, co: 3, s: 1, pad: 'valid' });

test('wasm conv gradient kernels match the CPU reference (rel. error ≤ 1e-4), with either dX algorithm', async (t) => {
  await initTfjs('wasm');
  for (const [c, dx] of [...cases.map((c) => [c, 'auto'] as const), ...cases.filter((c) => c.ci >= 16 || c.h === 5).map((c) => [c, 'phase'] as const)]) {
    await t.test(`${c.name} (dX: ${dx})`, async () => {
      registerConvGradKernels('wasm', dx);
      const rng = new Rng(c.h * 1000 + c.co);
      const xs = [c.batch, c.h, c.h, c.ci];
      const ws = [c.k, c.k, c.ci, c.co];
      const x = random(xs.reduce((a, b) => a * b), rng);
      const w = random(ws.reduce((a, b) => a * b), rng);
      await useTfjsBackend('wasm');
      const oh = c.pad === 'same' ? Math.ceil(c.h / c.s) : Math.floor((c.h - c.k) / c.s) + 1;
      const dy = random(c.batch * oh * oh * c.co, rng);
      const [dxW, dwW] = convGrads(x, xs, w, ws, dy, c.s, c.pad);
      await useTfjsBackend('cpu');
      const [dxC, dwC] = convGrads(x, xs, w, ws, dy, c.s, c.pad);
      await useTfjsBackend('wasm');
      const ex = relErr(dxW!, dxC!);
      const ew = relErr(dwW!, dwC!);
      assert.ok(ex <= 1e-4, `dX relative error ${ex}`);
      assert.ok(ew <= 1e-4, `dW relative error ${ew}`);
    });
  }
  registerConvGradKernels('wasm');
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
