/**
 * Binary conv kernel throughput (G binary-MAC/s) for conv2 and conv3 of K = 64/128/256 at batch
 * 16, SIMD, scalar and ternary (masked), next to the streaming XOR+popcount peak measured in the same process and
 * engine. A correctness check runs first: the timed kernels must equal the reference kernel.
 * Then the packed-bit max-pool (bit-ops/s against the same peak), and model R's float convs with
 * biases: the fused bias + ReLU store against a separate pass.
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
    const mask = ref + outInts * 4;
    fill(ex, input, inWords, rng, s.cin);
    fill(ex, weights, wWords, rng, s.cin);
    fill(ex, mask, wWords, rng, s.cin);
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
    // Ternary weights (a random mask, half the weights 0): the masked kernel against its reference.
    const masked = (o: number) => [input, weights, mask, o, ...args(o).slice(3)] as Parameters<KernelExports['bconv2dPopcountMasked']>;
    ex.bconv2dPopcountMaskedReference(...masked(ref));
    new Int32Array(ex.memory.buffer, out, outInts).fill(-1);
    ex.bconv2dPopcountMasked(...masked(out));
    {
      const a = new Int32Array(ex.memory.buffer, out, outInts);
      const b = new Int32Array(ex.memory.buffer, ref, outInts);
      for (let i = 0; i < outInts; i++) if (a[i] !== b[i]) throw new Error(`masked kernel differs from its reference on ${s.name} at ${i}`);
    }
    const macs = batch * outH * outH * s.cout * s.kernel * s.kernel * s.cin;
    const simd = macs / time(`${s.name} simd`, () => ex.bconv2dPopcountSimd(...args(out))).seconds / 1e9;
    const scalar = macs / time(`${s.name} scalar`, () => ex.bconv2dPopcountScalar(...args(out))).seconds / 1e9;
    const ternary = macs / time(`${s.name} ternary`, () => ex.bconv2dPopcountMasked(...masked(out))).seconds / 1e9;
    rows.push([s.name, fmt(macs / batch / 1e6, 2), fmt(simd, 1), `${fmt((100 * simd) / peakSimd, 0)}%`, fmt(scalar, 1), `${fmt((100 * scalar) / peakScalar, 0)}%`, fmt(ternary, 1), fmt(ternary / simd, 2)]);
    data.push({ shape: s.name, macsPerImage: macs / batch, simdGmacs: simd, scalarGmacs: scalar, ternaryGmacs: ternary, simdPctOfPeak: simd / peakSimd, scalarPctOfPeak: scalar / peakScalar });
  }
  const bitPool = await bitMaxPoolRows(ex, rng, peakSimd, peakScalar);
  const bias = biasFusion(ex, rng, cursor);
  const markdown =
    `Streaming XOR+popcount peak in this process: **${fmt(peakSimd, 1)} G/s** with simd128 (\`i8x16.popcnt\`), **${fmt(peakScalar, 1)} G/s** scalar (\`i64.popcnt\`), one core.\n\n` +
    mdTable(['binary conv (batch 16)', 'M binary MACs / image', 'simd G MAC/s', '% of simd peak', 'scalar G MAC/s', '% of scalar peak', 'ternary G MAC/s', 'ternary ÷ simd'], rows) +
    '\n\nEach kernel is first checked against the plain reference kernel on the same inputs (identical popcounts), then timed. Ternary: `bconv2dPopcountMasked` (weights in {−1, 0, +1}, sign bits + mask, one AND more per word, u64 words, no SIMD variant), the same shapes with half the weights 0, MACs counted over all taps.\n\n' +
    bitPool.markdown +
    '\n\n' +
    bias.markdown;
  return { markdown, data: { peakSimd, peakScalar, shapes: data, bitMaxPool: bitPool.data, biasFusion: bias.data } };
}

/**
 * bitMaxPool2d, 2×2 stride 2 VALID on a 32×32×256-channel packed tensor (8 words per pixel) with
 * a mixed orMask, in the simd build (this instance) and the scalar build (its own instance), at
 * batch 64 (2 MiB of input: streams from L2/L3) and batch 1 (32 KiB: cache-resident). Throughput
 * is counted in bit-ops: output words × 32 × poolH·poolW per second (every input bit of a window
 * folded once), next to the XOR+popcount peak above (bits per second over L1-resident buffers).
 * Both builds are first checked against a plain AND / OR over the packed words.
 */
async function bitMaxPoolRows(ex: KernelExports, rng: Rng, peakSimd: number, peakScalar: number): Promise<{ markdown: string; data: unknown }> {
  const scalarEx = await instantiateKernels('scalar');
  const [inH, inW, c, pool, stride] = [32, 32, 256, 2, 2];
  const wpp = Math.ceil(c / 32);
  const outH = Math.floor((inH - pool) / stride) + 1, outW = Math.floor((inW - pool) / stride) + 1;
  const rows: (string | number)[][] = [];
  const data = [];
  for (const batch of [64, 1]) {
    const inWords = batch * inH * inW * wpp, outWords = batch * outH * outW * wpp;
    // The same input, mask and expected output in both instances.
    const input = Uint32Array.from({ length: inWords }, () => rng.nextU32());
    const mask = Uint32Array.from({ length: wpp }, (_, i) => (i % 2 ? rng.nextU32() : i === 0 ? 0 : 0xffffffff));
    const expect = new Uint32Array(outWords);
    for (let b = 0; b < batch; b++)
      for (let oy = 0; oy < outH; oy++)
        for (let ox = 0; ox < outW; ox++)
          for (let w = 0; w < wpp; w++) {
            let a = 0xffffffff, o = 0;
            for (let ky = 0; ky < pool; ky++)
              for (let kx = 0; kx < pool; kx++) {
                const v = input[((b * inH + oy * stride + ky) * inW + ox * stride + kx) * wpp + w]!;
                a &= v;
                o |= v;
              }
            expect[((b * outH + oy) * outW + ox) * wpp + w] = ((a & ~mask[w]!) | (o & mask[w]!)) >>> 0;
          }
    const perBuild: Record<'simd' | 'scalar', { gbitops: number; rme: number }> = { simd: { gbitops: 0, rme: 0 }, scalar: { gbitops: 0, rme: 0 } };
    for (const [flavor, k] of [['simd', ex], ['scalar', scalarEx]] as const) {
      const base = (k.heapBase() + 15) & ~15;
      const pin = base, pmask = pin + inWords * 4, pout = pmask + 64;
      const need = pout + outWords * 4;
      if (need > k.memory.buffer.byteLength) k.memory.grow(Math.ceil((need - k.memory.buffer.byteLength) / 65536));
      new Uint32Array(k.memory.buffer, pin, inWords).set(input);
      new Uint32Array(k.memory.buffer, pmask, wpp).set(mask);
      new Uint32Array(k.memory.buffer, pout, outWords).fill(0xa5a5a5a5);
      const run = () => k.bitMaxPool2d(pin, pout, batch, inH, inW, wpp, pool, pool, stride, stride, 0, 0, outH, outW, pmask);
      // Correctness first: a fast wrong kernel must not post a figure.
      run();
      const got = new Uint32Array(k.memory.buffer, pout, outWords);
      for (let i = 0; i < outWords; i++) if (got[i] !== expect[i]) throw new Error(`bitMaxPool2d (${flavor} build, batch ${batch}) differs from the reference at word ${i}`);
      const t = time(`bitMaxPool2d ${flavor} batch ${batch}`, run);
      perBuild[flavor] = { gbitops: (outWords * 32 * pool * pool) / t.seconds / 1e9, rme: t.rme };
    }
    const { simd, scalar } = perBuild;
    rows.push([
      `${batch} (${fmt((inWords * 4) / 1024, 0)} KiB in)`,
      `${fmt(simd.gbitops, 1)} ± ${fmt(simd.rme, 0)}%`, `${fmt((100 * simd.gbitops) / peakSimd, 0)}%`,
      `${fmt(scalar.gbitops, 1)} ± ${fmt(scalar.rme, 0)}%`, `${fmt((100 * scalar.gbitops) / peakScalar, 0)}%`,
    ]);
    data.push({ batch, inBytes: inWords * 4, simdGbitops: simd.gbitops, scalarGbitops: scalar.gbitops, simdOverPeak: simd.gbitops / peakSimd, scalarOverPeak: scalar.gbitops / peakScalar });
  }
  const markdown =
    mdTable(['bitMaxPool2d 2×2/2, 32×32×256 → 16×16×256, batch', 'simd G bit-op/s', '÷ simd XOR+popcount peak', 'scalar G bit-op/s', '÷ scalar peak'], rows) +
    '\n\nbit-ops = output words × 32 × poolH·poolW (each input bit of a window folded once into the AND and the OR); both builds are first checked against a plain AND / OR over the packed words, then timed.';
  return { markdown, data };
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
