// Runs under any Node ≥ 18 (here: Debian's arm64 node under qemu) with nothing but the standalone
// runtime bundle: a few runtime checks, the conformance vectors (test/conformance/), then the labels
// and logits of every fixture model on the fixture images, printed as JSON for the x86 side to
// compare bit for bit.
//   node test/arm64/check.mjs FIXTURE_DIR
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BnnRuntime, BnnFormatError, BnnInputError, simdSupported } from '../../packages/runtime/dist/bnn-edge-runtime.node.js';

const dir = process.argv[2];
const fixture = JSON.parse(readFileSync(join(dir, 'fixture.json'), 'utf8'));
const images = new Float32Array(readFileSync(join(dir, 'images.f32')).buffer.slice(0));
const checks = [];
const check = (name, ok) => checks.push({ name, ok: Boolean(ok) });

const fnv = (bytes) => {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16);
};

const results = {};
for (const model of fixture.models) {
  const bytes = readFileSync(model.path);
  for (const flavor of ['simd', 'scalar']) {
    const rt = await BnnRuntime.load(bytes, { simd: flavor === 'simd', seed: 7 });
    const logits = rt.logits(images, fixture.n);
    const labels = Array.from({ length: fixture.n }, (_, i) => {
      let best = 0;
      for (let j = 1; j < 10; j++) if (logits[i * 10 + j] > logits[i * 10 + best]) best = j;
      return best;
    });
    check(`${model.name}/${flavor}: predict() = argmax of logits()`, (rt.reseed(7), rt.predict(images.subarray(0, 784 * 8), 8)).every((l, i) => l === labels[i]));
    results[`${model.name}/${flavor}`] = { labels, logitsHash: fnv(new Uint8Array(logits.buffer)) };
  }
}
// The conformance vectors: every logit as the vector has it, bit for bit.
const vectors = join(new URL('../conformance/', import.meta.url).pathname);
for (const file of readdirSync(vectors).filter((f) => f.endsWith('.json')).sort()) {
  const v = JSON.parse(readFileSync(join(vectors, file), 'utf8'));
  const raw = Buffer.from(v.input, 'hex');
  const input = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  for (const flavor of ['simd', 'scalar']) {
    const rt = await BnnRuntime.load(readFileSync(join(vectors, v.model)), { simd: flavor === 'simd', seed: v.seed, resample: v.resample });
    const logits = rt.logits(input, v.images);
    check(`conformance ${v.model}/${flavor}: logits bit for bit`, Buffer.from(logits.buffer).toString('hex') === v.logits);
    results[`conformance/${v.model}/${flavor}`] = { labels: Array.from((rt.reseed(v.seed), rt.predict(input, v.images))), logitsHash: fnv(new Uint8Array(logits.buffer)) };
  }
}
check('simd128 is supported', simdSupported());
const rt = await BnnRuntime.load(readFileSync(fixture.models[0].path));
try {
  rt.predict(images.subarray(0, 100), 1);
  check('wrong length rejected', false);
} catch (e) {
  check('wrong length rejected', e instanceof BnnInputError && e.code === 'BAD_LENGTH');
}
try {
  const bad = new Uint8Array(readFileSync(fixture.models[0].path));
  bad[bad.length - 1] ^= 1;
  await BnnRuntime.load(bad);
  check('corrupt model rejected', false);
} catch (e) {
  check('corrupt model rejected', e instanceof BnnFormatError && e.code === 'BAD_CHECKSUM');
}
check('runtime keeps working', rt.predict(images.subarray(0, 784), 1).length === 1);
process.stdout.write(JSON.stringify({ arch: process.arch, node: process.version, checks, results }) + '\n');
