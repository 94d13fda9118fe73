/**
 * Binary conv kernel throughput (G binary-MAC/s) for conv2 and conv3 of K = 64/128/256 at batch
 * 16, SIMD and scalar, next to the streaming XOR+popcount peak measured in the same process and
 * engine. A correctness check runs first: the timed kernels must equal the reference kernel.
 * Then model R's float convs with biases: the fused bias + ReLU store against a separate pass.
 */
import { instantiateKernels, type KernelExports } from '../../src/runtime/wasm.js';
import { Rng } from '../../src/util/rng.js';
import { fmt, mdTable, time } from '../lib.js';

interface Shape {
  name: string;
  k: number;
  inH: number;
  cin: number;
  kernel: number;
  stride: number;
  cout: number;
}

function shapes(): Shape[] {
  const out: Shape[] = [];
  for (const k of [64, 128, 256]) {
    out.push({ name: `conv2 K=${k}`, k, inH: 14, cin: k, kernel: 6, stride: 2, cout: 2 * k });
    out.push({ name: `conv3 K=${k}`, k, inH: 5, cin: 2 * k, kernel: 5, stride: 1, cout: 2 * k });
  }
  return out;
}

function fill(ex: KernelExports, ptr: number, words: number, rng: Rng, cin: number): void {
  const v = new Uint32Array(ex.memory.buffer, ptr, words);
  const wpp = Math.ceil(cin / 32);
  const mask = cin % 32 ? (1 << cin % 32) - 1 : 0xffffffff;
  for (let i = 0; i < words; i++) v[i] = (rng.nextU32() & (i % wpp === wpp - 1 ? mask : 0xffffffff)) >>> 0;
}

export async function kernelsSuite(): Promise<{ markdown: string; data: unknown }> {
  const ex = await instantiateKernels('simd');
  const rng = new Rng(1);
  const batch = 16;
  // Peak: streaming XOR + popcount over two 16 KiB buffers (L1-resident), same engine.
  const base = ex.heapBase();
  const peakWords = 4096;
  const pa = base;
  const pb = base + peakWords * 4;
  const need = pb + peakWords * 4 + (64 << 20);
  if (need > ex.memory.buffer.byteLength) ex.memory.grow(Math.ceil((need - ex.memory.buffer.byteLength) / 65536));
  fill(ex, pa, peakWords, rng, 32);
  fill(ex, pb, peakWords, rng, 32);
  const reps = 2000;
  const bitsPerCall = peakWords * 32 * reps;
  const peakSimd = bitsPerCall / time('peak simd', () => void ex.xorPopcountPeak(pa, pb, peakWords, reps)).seconds / 1e9;
  const peakScalar = bitsPerCall / time('peak scalar', () => void ex.xorPopcountPeakScalar(pa, pb, peakWords, reps)).seconds / 1e9;
  const rows: (string | number)[][] = [];
  const data = [];
  let cursor = pb + peakWords * 4;
  for (const s of shapes()) {
    const wpp = Math.ceil(s.cin / 32);
    const outH = Math.floor((s.inH - s.kernel) / s.stride) + 1;
    const inWords = batch * s.inH * s.inH * wpp;
    const wWords = s.cout * s.kernel * s.kernel * wpp;
    const outInts = batch * outH * outH * s.cout;
    const input = cursor;
    const weights = input + inWords * 4;
    const out = weights + wWords * 4;
    const ref = out + outInts * 4;
    fill(ex, input, inWords, rng, s.cin);
    fill(ex, weights, wWords, rng, s.cin);
    const args = (o: number) => [input, weights, o, batch, s.inH, s.inH, wpp, s.cout, s.kernel, s.kernel, s.stride, s.stride, outH, outH] as const;
    // Correctness first: a fast wrong kernel must not post a figure.
    ex.bconv2dPopcountReference(...args(ref));
    for (const [name, f] of [['simd', ex.bconv2dPopcountSimd], ['scalar', ex.bconv2dPopcountScalar]] as const) {
      new Int32Array(ex.memory.buffer, out, outInts).fill(-1);
      f(...args(out));
      const a = new Int32Array(ex.memory.buffer, out, outInts);
      const b = new Int32Array(ex.memory.buffer, ref, outInts);
      for (let i = 0; i < outInts; i++) if (a[i] !== b[i]) throw new Error(`${name} kernel differs from the reference on ${s.name} at ${i}`);
    }
    const macs = batch * outH * outH * s.cout * s.kernel * s.kernel * s.cin;
    const simd = macs / time(`${s.name} simd`, () => ex.bconv2dPopcountSimd(...args(out))).seconds / 1e9;
    const scalar = macs / time(`${s.name} scalar`, () => ex.bconv2dPopcountScalar(...args(out))).seconds / 1e9;
    rows.push([s.name, fmt(macs / batch / 1e6, 2), fmt(simd, 1), `${fmt((100 * simd) / peakSimd, 0)}%`, fmt(scalar, 1), `${fmt((100 * scalar) / peakScalar, 0)}%`]);
    data.push({ shape: s.name, macsPerImage: macs / batch, simdGmacs: simd, scalarGmacs: scalar, simdPctOfPeak: simd / peakSimd, scalarPctOfPeak: scalar / peakScalar });
  }
  const bias = biasFusion(ex, rng, cursor);
  const markdown =
    `Streaming XOR+popcount peak in this process: **${fmt(peakSimd, 1)} G/s** with simd128 (\`i8x16.popcnt\`), **${fmt(peakScalar, 1)} G/s** scalar (\`i64.popcnt\`), one core.\n\n` +
    mdTable(['binary conv (batch 16)', 'M binary MACs / image', 'simd G MAC/s', '% of simd peak', 'scalar G MAC/s', '% of scalar peak'], rows) +
    '\n\nEach kernel is first checked against the plain reference kernel on the same inputs (identical popcounts), then timed.\n\n' +
    bias.markdown;
  return { markdown, data: { peakSimd, peakScalar, shapes: data, biasFusion: bias.data } };
}

/**
 * Model R (A with a bias per channel, K = 64) convolves in float: fconv2dBiasRelu adds the bias
 * and rectifies in the tile's store, where the alternative is fconv2d then biasReluF32 over the
 * output again. Both must give the same floats; then each is timed at batch 128.
 */
function biasFusion(ex: KernelExports, rng: Rng, cursor: number): { markdown: string; data: unknown } {
  const batch = 128;
  const layers = [
    { name: 'conv1 28×28×1 → 14×14×64 (8×8 s2 SAME)', inH: 28, cin: 1, k: 8, stride: 2, pad: 3, outH: 14, cout: 64 },
    { name: 'conv2 14×14×64 → 5×5×128 (6×6 s2 VALID)', inH: 14, cin: 64, k: 6, stride: 2, pad: 0, outH: 5, cout: 128 },
    { name: 'conv3 5×5×128 → 1×1×128 (5×5 VALID)', inH: 5, cin: 128, k: 5, stride: 1, pad: 0, outH: 1, cout: 128 },
  ];
  const rows: (string | number)[][] = [];
  const data = [];
  for (const l of layers) {
    const counts = { input: batch * l.inH * l.inH * l.cin, weights: l.k * l.k * l.cin * l.cout, out: batch * l.outH * l.outH * l.cout };
    const input = cursor, weights = input + counts.input * 4, bias = weights + counts.weights * 4;
    const fused = bias + l.cout * 4, separate = fused + counts.out * 4;
    const floats = (ptr: number, n: number) => new Float32Array(ex.memory.buffer, ptr, n);
    floats(input, counts.input).set(Float32Array.from({ length: counts.input }, () => rng.next()));
    floats(weights, counts.weights).set(Float32Array.from({ length: counts.weights }, () => rng.next() - 0.5));
    floats(bias, l.cout).set(Float32Array.from({ length: l.cout }, () => 2 * rng.next() - 1));
    const geometry = [batch, l.inH, l.inH, l.cin, l.cout, l.k, l.k, l.stride, l.stride, l.pad, l.pad, l.outH, l.outH] as const;
    const runFused = () => ex.fconv2dBiasRelu(input, weights, bias, fused, ...geometry);
    const runSeparate = () => {
      ex.fconv2d(input, weights, separate, ...geometry, 0);
      ex.biasReluF32(separate, counts.out / l.cout, l.cout, bias, 1);
    };
    runFused();
    runSeparate();
    const a = floats(fused, counts.out), b = floats(separate, counts.out);
    for (let i = 0; i < counts.out; i++) if (!Object.is(a[i], b[i])) throw new Error(`fused bias differs from the separate pass on ${l.name} at ${i}`);
    const tFused = time(`${l.name} fused`, runFused);
    const tSeparate = time(`${l.name} separate`, runSeparate);
    rows.push([l.name, `${fmt(tFused.seconds * 1e3, 2)} ± ${fmt(tFused.rme, 0)}%`, `${fmt(tSeparate.seconds * 1e3, 2)} ± ${fmt(tSeparate.rme, 0)}%`, `${fmt(tSeparate.seconds / tFused.seconds, 2)}×`]);
    data.push({ layer: l.name, batch, fusedSeconds: tFused.seconds, separateSeconds: tSeparate.seconds });
  }
  const markdown =
    mdTable([`model R's float convs (batch ${batch}, simd)`, 'fused bias + ReLU, ms', 'fconv2d + biasReluF32, ms', 'separate / fused'], rows) +
    '\n\nBoth variants are first checked to give identical floats, then timed.';
  return { markdown, data };
}
