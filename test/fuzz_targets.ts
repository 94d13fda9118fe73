/**
 * Fuzz targets: what each one feeds the input to, which outcomes are expected (a typed rejection
 * is one), and the properties checked on top of "no crash": a .bnn the reader accepts is exactly
 * what the writer would write; a model that loads computes the same logits on the simd build as on
 * the scalar build with guard words checked after every layer; an IDX file read from memory and
 * from disk gives the same answer; a decoded image has the size it claims. Anything else thrown
 * is a crash. Each target returns an outcome label, a cheap feature for the fuzzer besides V8's
 * block coverage.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { crc32 } from '../src/format/crc32.js';
import type { Field } from './fuzz_mutate.js';
import { optionsTarget } from './fuzz_options.js';
import { serverTarget } from './fuzz_server.js';

/** A property of the code under test does not hold for this input. */
export class FuzzFailure extends Error {
  override readonly name = 'FuzzFailure';
}

export interface FuzzTarget {
  readonly name: string;
  readonly description: string;
  /** Inputs to start from besides the target's corpus folder. */
  seeds(): Uint8Array[];
  /** Runs one input: an outcome label, or a throw (FuzzFailure or any unexpected error) for a finding. */
  run(input: Uint8Array): Promise<string>;
  /** Numeric fields of this input, for structure-aware mutation. */
  fields?(input: Uint8Array): Field[];
  /** Where this input's values are (a .bnn's payload), for value mutations. */
  region?(input: Uint8Array): [number, number];
  /** Share of inputs made by value-only mutations of the region (default 0). */
  readonly valueShare?: number;
  /** Repairs checksums after a mutation (when the program asks), so mutations reach past them. */
  fixup?(input: Uint8Array): Uint8Array;
  readonly dictionary?: readonly Uint8Array[];
  readonly maxLen: number;
  /** Releases what the target holds open (a server), so that the child process can exit. */
  close?(): Promise<void>;
  /** Files (from the repository root) whose lines reached are reported for this target. */
  readonly coverageFiles: readonly string[];
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CORPUS_ROOT = join(ROOT, 'test', 'fuzz-corpus');
/** Scratch files for targets that read from disk (tmpfs when there is one). */
const SCRATCH = (() => {
  try {
    readdirSync('/dev/shm');
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
})();
export function scratchFile(ext: string): string {
  return join(SCRATCH, `bnn-fuzz-${process.pid}${ext}`);
}
export function removeScratch(): void {
  for (const ext of ['.png', '.jpg', '.idx', '.img']) rmSync(scratchFile(ext), { force: true });
}

/** The .bnn seeds: every conformance vector and the small shipped models. */
export function bnnSeeds(): Uint8Array[] {
  const conf = join(ROOT, 'test', 'conformance');
  const files = readdirSync(conf)
    .filter((f) => f.endsWith('.bnn'))
    .sort()
    .map((f) => join(conf, f));
  return [...files, join(ROOT, 'models', 'b64.bnn'), join(ROOT, 'models', 'c64.bnn')].map((f) => new Uint8Array(readFileSync(f)));
}

const enc = (s: string) => new TextEncoder().encode(s);
const MAGIC = Uint8Array.of(0x89, 0x42, 0x4e, 0x4e, 0x0d, 0x0a, 0x1a, 0x0a);

/** A .bnn's payload: from the header's payloadOffset (2.0: byte 44, 1.x: byte 48) to the end. */
function bnnPayload(input: Uint8Array): [number, number] {
  if (input.length < 52) return [0, input.length];
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const at = view.getUint32(view.getUint16(8, true) === 1 ? 48 : 44, true);
  return at < input.length ? [at, input.length] : [0, input.length];
}

/** Declared size set to the actual one, then the checksum recomputed. */
function fixBnn(input: Uint8Array): Uint8Array {
  if (input.length < 24) return input;
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  view.setUint32(16, input.length, true);
  view.setUint32(20, crc32(input, 24), true);
  return input;
}

let cachedFields: ((input: Uint8Array) => Field[]) | undefined;
/** The .bnn's numeric fields: header, layer and tensor records (2.0 or 1.x layout), the first 64 of each. */
async function fieldsFn(): Promise<(input: Uint8Array) => Field[]> {
  if (!cachedFields) {
    const layout = await import('../src/format/layout.js');
    const v1 = await import('../src/format/layout_v1.js');
    cachedFields = (input) => {
      if (input.length < 40) return [];
      const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
      const one = view.getUint16(8, true) === 1;
      const H = one ? v1.V1_HEADER_FIELDS : layout.HEADER_FIELDS;
      const L = one ? v1.V1_LAYER_FIELDS : layout.LAYER_FIELDS;
      const T = one ? v1.V1_TENSOR_FIELDS : layout.TENSOR_FIELDS;
      const hs = one ? v1.V1_HEADER_SIZE : layout.HEADER_SIZE;
      const ls = one ? v1.V1_LAYER_RECORD_SIZE : layout.LAYER_RECORD_SIZE;
      const ts = one ? v1.V1_TENSOR_RECORD_SIZE : layout.TENSOR_RECORD_SIZE;
      const lc = view.getUint16(one ? 36 : 32, true);
      const tc = view.getUint16(one ? 38 : 34, true);
      const width = (t: string): 1 | 2 | 4 => (t === 'u8' ? 1 : t === 'u16' ? 2 : 4);
      const out: Field[] = [];
      for (const f of H as readonly { type: string; offset: number }[]) if (f.type !== 'name') out.push({ at: f.offset, width: width(f.type) });
      for (let i = 0; i < Math.min(lc, 64); i++) for (const f of L as readonly { type: string; offset: number }[]) if (f.type !== 'name') out.push({ at: hs + i * ls + f.offset, width: width(f.type) });
      const t0 = hs + lc * ls;
      for (let i = 0; i < Math.min(tc, 64); i++) for (const f of T as readonly { type: string; offset: number }[]) if (f.type !== 'name') out.push({ at: t0 + i * ts + f.offset, width: width(f.type) });
      return out.filter((f) => f.at + f.width <= input.length);
    };
  }
  return cachedFields;
}

const BNN_DICT = [MAGIC, Uint8Array.of(2, 0, 0, 0), Uint8Array.of(1, 0, 0, 0), Uint8Array.of(80, 0, 0, 0), Uint8Array.of(0, 0, 0x80, 0x7f), Uint8Array.of(0, 0, 0xc0, 0x7f), Uint8Array.of(0, 0, 0x80, 0xff)];

/** Where a rejection points: a header field, or a field within a 64- / 32-byte record. */
function where(offset: number): string {
  return offset < 80 ? `h${offset}` : `r${(offset - 80) % 32}`;
}

const bnnTarget = async (): Promise<FuzzTarget> => {
  const { parseBnn } = await import('../src/format/read.js');
  const { serializeBnn } = await import('../src/format/write.js');
  const { BnnFormatError } = await import('../src/format/errors.js');
  const fields = await fieldsFn();
  return {
    name: 'bnn',
    description: '.bnn reader (parseBnn): typed rejection, or a model the writer writes back byte for byte (2.0) / stably (1.x)',
    seeds: bnnSeeds,
    fields,
    region: bnnPayload,
    fixup: fixBnn,
    dictionary: BNN_DICT,
    maxLen: 1 << 20,
    coverageFiles: ['dist/src/format/read.js', 'dist/src/format/read_v1.js', 'dist/src/model/graph.js'],
    async run(input) {
      let model;
      try {
        model = parseBnn(input);
      } catch (e) {
        if (e instanceof BnnFormatError) {
          if (!(e.offset >= 0 && e.offset <= input.length)) throw new FuzzFailure(`rejection offset ${e.offset} outside the ${input.length}-byte file`);
          return `reject:${e.code}:${where(e.offset)}`;
        }
        throw e;
      }
      const again = serializeBnn(model);
      if (model.version.major === 2) {
        // Canonical: what the reader accepts is exactly what the writer writes — except the minor
        // version (bytes 10–11), which a 2.x reader accepts (a minor only adds) and reports.
        const minor = input[10]! | (input[11]! << 8);
        if (model.version.minor !== minor) throw new FuzzFailure(`minor version ${minor} read as ${model.version.minor}`);
        if (again.length !== input.length || again.some((b, i) => b !== input[i] && i !== 10 && i !== 11)) throw new FuzzFailure('a 2.0 file was accepted that the writer would not write byte for byte');
      } else {
        const third = serializeBnn(parseBnn(again));
        if (third.length !== again.length || third.some((b, i) => b !== again[i])) throw new FuzzFailure('a 1.x file does not convert to a stable 2.0 file');
      }
      return `ok:${model.version.major}:${model.graph.layers.map((l) => l.kind[0]).join('')}`;
    },
  };
};

/** Pixels in [0, 1] with a pattern (not all equal, so thresholds split them). */
export function patternImages(values: number): Float32Array {
  return Float32Array.from({ length: values }, (_, i) => ((i * 37 + 11) % 256) / 255);
}

/** Largest image (values) and work (ops per image) the runtime target runs; beyond, a typed skip. */
const RUN_LIMITS = { memory: 256 << 20, values: 1 << 20, ops: 5e7 } as const;

const runtimeTarget = async (): Promise<FuzzTarget> => {
  const { parseBnn } = await import('../src/format/read.js');
  const { BnnFormatError } = await import('../src/format/errors.js');
  const { BnnRuntime, BnnConfigError, UnsupportedModelError } = await import('../src/runtime/index.js');
  const fields = await fieldsFn();
  return {
    name: 'runtime',
    description: 'BnnRuntime.load + logits + predict: typed rejection, or simd logits = scalar logits (guard words checked after every layer) bit for bit, labels = argmax',
    seeds: bnnSeeds,
    fields,
    region: bnnPayload,
    fixup: fixBnn,
    dictionary: BNN_DICT,
    maxLen: 1 << 20,
    valueShare: 0.5,
    coverageFiles: ['dist/src/runtime/runtime.js', 'dist/src/runtime/plan.js', 'dist/src/runtime/guards.js', 'dist/src/model/lower.js', 'dist/src/model/threshold.js', 'dist/src/format/read.js'],
    async run(raw) {
      // The size and checksum always repaired: the reader's own target covers rejecting them, this
      // one is for files that get past the reader.
      const input = fixBnn(raw.slice());
      let model;
      try {
        model = parseBnn(input);
      } catch (e) {
        if (e instanceof BnnFormatError) return `reject:${e.code}`;
        throw e;
      }
      const [h, w, c] = model.graph.input;
      if (h * w * c > RUN_LIMITS.values) return 'skip:large-image';
      const opts = { maxBatch: 2, maxMemoryBytes: RUN_LIMITS.memory };
      let rt;
      try {
        rt = await BnnRuntime.load(input, { ...opts, simd: true });
      } catch (e) {
        if (e instanceof UnsupportedModelError) return 'unsupported';
        if (e instanceof BnnConfigError && e.code === 'MEMORY_LIMIT') return 'memory-limit';
        throw e;
      }
      if (rt.opsPerImage > RUN_LIMITS.ops) return 'skip:costly';
      const images = patternImages(3 * h * w * c);
      const a = rt.logits(images, 3);
      const scalar = await BnnRuntime.load(input, { maxBatch: 1, maxMemoryBytes: RUN_LIMITS.memory, simd: false, debugGuards: true });
      const b = scalar.logits(images, 3);
      const classes = model.graph.classes;
      if (a.length !== 3 * classes || b.length !== a.length) throw new FuzzFailure(`logits of length ${a.length} / ${b.length} for 3 images of ${classes} classes`);
      for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) throw new FuzzFailure(`simd and scalar logits differ at ${i}: ${a[i]} vs ${b[i]}`);
      rt.reseed(0);
      const labels = rt.predict(images, 3);
      for (let n = 0; n < 3; n++) {
        const row = a.subarray(n * classes, (n + 1) * classes);
        if (row.some((v) => Number.isNaN(v))) continue;
        let best = 0;
        for (let j = 1; j < classes; j++) if (row[j]! > row[best]!) best = j;
        if (labels[n] !== best) throw new FuzzFailure(`image ${n}: predict gave ${labels[n]}, argmax of the logits is ${best}`);
      }
      return `ran:${[...new Set(rt.plan.steps.map((s) => s.op))].sort().join(',')}`;
    },
  };
};

/** IDX bytes: zero, zero, type, ndim, big-endian dims, the elements. */
export function idxBytes(type: number, dims: readonly number[], data: Uint8Array): Uint8Array {
  const h = new Uint8Array(4 + 4 * dims.length);
  h[2] = type;
  h[3] = dims.length;
  dims.forEach((d, i) => new DataView(h.buffer).setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(h.length + data.length);
  out.set(h);
  out.set(data, h.length);
  return out;
}

/** An input whose last byte is 0x1f is gzipped (all but that byte) before reading: mutations of the content reach the inflated paths. */
function idxOf(input: Uint8Array): Uint8Array {
  return input.length > 0 && input[input.length - 1] === 0x1f ? new Uint8Array(gzipSync(input.subarray(0, input.length - 1))) : input;
}

const idxTarget = async (): Promise<FuzzTarget> => {
  const { parseIdx, readIdxFile } = await import('../src/data/idx.js');
  const { DataError } = await import('../src/data/dataset.js');
  const seeds = () => {
    const img = idxBytes(8, [3, 4, 5], Uint8Array.from({ length: 60 }, (_, i) => i * 4));
    const lab = idxBytes(8, [3], Uint8Array.of(0, 1, 2));
    const rgb = idxBytes(8, [2, 3, 3, 3], Uint8Array.from({ length: 54 }, (_, i) => i));
    return [img, lab, rgb, Uint8Array.from([...img, 0x1f]), Uint8Array.from([...lab, 0x1f]), new Uint8Array(gzipSync(rgb))];
  };
  const file = scratchFile('.idx');
  const outcome = (f: () => { dims: number[]; data: Uint8Array }): string | { dims: number[]; data: Uint8Array } => {
    try {
      return f();
    } catch (e) {
      if (e instanceof DataError) return `reject:${e.message.replace(/^.*?: /, '').replace(/0x[0-9a-f]+|\d+/gi, 'N').slice(0, 40)}`;
      throw e;
    }
  };
  return {
    name: 'idx',
    description: 'IDX reader (parseIdx from memory and readIdxFile from disk, raw and gzip): typed rejection, or the declared elements exactly; both agree',
    seeds,
    fields: (input) => {
      if (input.length < 4) return [];
      const n = Math.min(input[3]!, 4);
      return [{ at: 2, width: 1 } as Field, { at: 3, width: 1 } as Field, ...Array.from({ length: n }, (_, i): Field => ({ at: 4 + 4 * i, width: 4, be: true }))].filter((f) => f.at + f.width <= input.length);
    },
    dictionary: [Uint8Array.of(0x1f, 0x8b), Uint8Array.of(0, 0, 8, 3), Uint8Array.of(0, 0, 8, 1), Uint8Array.of(0x1f)],
    maxLen: 1 << 18,
    coverageFiles: ['dist/src/data/idx.js', 'dist/src/data/files.js'],
    async run(input) {
      const bytes = idxOf(input);
      const mem = outcome(() => parseIdx(bytes, 'fuzz'));
      writeFileSync(file, bytes);
      const disk = outcome(() => readIdxFile(file));
      if (typeof mem === 'string' || typeof disk === 'string') {
        if (typeof mem !== typeof disk) throw new FuzzFailure(`parseIdx and readIdxFile disagree: ${typeof mem === 'string' ? mem : 'ok'} vs ${typeof disk === 'string' ? disk : 'ok'}`);
        return mem as string;
      }
      const count = mem.dims.reduce((a, b) => a * b, 1);
      if (mem.data.length !== count) throw new FuzzFailure(`dims [${mem.dims.join(', ')}] but ${mem.data.length} elements`);
      if (mem.dims.join() !== disk.dims.join() || mem.data.some((v, i) => v !== disk.data[i])) throw new FuzzFailure('parseIdx and readIdxFile read different data');
      return `ok:${mem.dims.length}`;
    },
  };
};

/** PNG chunk CRCs recomputed (pngjs checks them), so mutations reach the decoder. */
function fixPng(input: Uint8Array): Uint8Array {
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  for (let at = 8; at + 12 <= input.length; ) {
    const len = view.getUint32(at, false);
    if (at + 12 + len > input.length) break;
    view.setUint32(at + 8 + len, crc32Range(input, at + 4, at + 8 + len), false);
    at += 12 + len;
  }
  return input;
}

function crc32Range(bytes: Uint8Array, from: number, to: number): number {
  return crc32(bytes.subarray(0, to), from);
}

async function imageSeeds(): Promise<Uint8Array[]> {
  const { PNG } = await import('pngjs');
  const jpeg = (await import('jpeg-js')).default;
  const out: Uint8Array[] = [];
  for (const [w, h, colorType, bitDepth] of [
    [4, 3, 0, 8],
    [5, 4, 2, 8],
    [3, 3, 6, 8],
    [6, 2, 4, 8],
    [4, 4, 0, 16],
  ] as const) {
    const png = new PNG({ width: w, height: h });
    for (let i = 0; i < w * h * 4; i++) png.data[i] = (i * 53) % 256;
    out.push(new Uint8Array(PNG.sync.write(png, { colorType, bitDepth, inputHasAlpha: true })));
  }
  for (const [w, h, q] of [
    [8, 8, 90],
    [13, 7, 50],
    [16, 16, 10],
  ] as const) {
    const data = Buffer.alloc(w * h * 4);
    for (let i = 0; i < data.length; i++) data[i] = (i * 29) % 256;
    out.push(new Uint8Array(jpeg.encode({ data, width: w, height: h }, q).data));
  }
  return out;
}

const IMAGE_DICT = ['IHDR', 'IDAT', 'IEND', 'PLTE', 'tRNS', 'gAMA', 'iCCP', 'sBIT'].map(enc).concat([Uint8Array.of(0xff, 0xd8), Uint8Array.of(0xff, 0xc0), Uint8Array.of(0xff, 0xc2), Uint8Array.of(0xff, 0xc4), Uint8Array.of(0xff, 0xdb), Uint8Array.of(0xff, 0xda), Uint8Array.of(0xff, 0xd9), Uint8Array.of(0xff, 0xdd)]);
const isPng = (b: Uint8Array) => b.length >= 8 && b[0] === 0x89 && b[1] === 0x50;

/** What the two image targets feed their decoders: PNG and JPEG files, PNG checksums repaired. */
const imageInputs = (seeds: Uint8Array[]): Pick<FuzzTarget, 'seeds' | 'fixup' | 'dictionary' | 'maxLen'> => ({
  seeds: () => seeds,
  fixup: (b) => (isPng(b) ? fixPng(b) : b),
  dictionary: IMAGE_DICT,
  maxLen: 1 << 18,
});

const imageTarget = async (): Promise<FuzzTarget> => {
  const { decodeImage } = await import('../src/data/folder.js');
  const { DataError } = await import('../src/data/dataset.js');
  const seeds = await imageSeeds();
  return {
    name: 'image',
    description: 'PNG / JPEG decoding of image folders (pngjs, jpeg-js via decodeImage): typed rejection, or width × height within limits and 4·w·h RGBA bytes',
    ...imageInputs(seeds),
    coverageFiles: ['dist/src/data/folder.js', 'node_modules/pngjs/lib/parser.js', 'node_modules/pngjs/lib/filter-parse.js', 'node_modules/pngjs/lib/bitmapper.js', 'node_modules/pngjs/lib/format-normaliser.js', 'node_modules/pngjs/lib/parser-sync.js', 'node_modules/jpeg-js/lib/decoder.js'],
    async run(input) {
      const file = scratchFile(isPng(input) ? '.png' : '.jpg');
      writeFileSync(file, input);
      try {
        const img = decodeImage(file);
        if (!(img.width >= 1 && img.height >= 1 && img.width <= 4096 && img.height <= 4096)) throw new FuzzFailure(`decoded a ${img.width}×${img.height} image`);
        if (img.rgba.length !== 4 * img.width * img.height) throw new FuzzFailure(`${img.rgba.length} RGBA bytes for ${img.width}×${img.height}`);
        return `ok:${isPng(input) ? 'png' : 'jpg'}`;
      } catch (e) {
        if (e instanceof DataError) return `reject:${isPng(input) ? 'png' : 'jpg'}:${e.message.replace(/^.*?: /, '').replace(/0x[0-9a-f]+|\d+/gi, 'N').slice(0, 30)}`;
        throw e;
      }
    },
  };
};

const sharpTarget = async (): Promise<FuzzTarget> => {
  const { readImageAs } = await import('../src/data/resize.js');
  const { DataError } = await import('../src/data/dataset.js');
  const seeds = await imageSeeds();
  return {
    name: 'sharp',
    description: 'images for classify (sharp / libvips via readImageAs, gray and RGB): typed rejection, or exactly H·W·C values in [0, 1]',
    ...imageInputs(seeds),
    coverageFiles: ['dist/src/data/resize.js', 'dist/src/data/files.js'],
    async run(input) {
      const file = scratchFile('.img');
      writeFileSync(file, input);
      const channels = input.length % 2 === 0 ? 1 : 3;
      try {
        const x = await readImageAs(file, [12, 10, channels]);
        if (x.length !== 12 * 10 * channels) throw new FuzzFailure(`${x.length} values for 12×10×${channels}`);
        for (const v of x) if (!(v >= 0 && v <= 1)) throw new FuzzFailure(`value ${v} outside [0, 1]`);
        return `ok:${channels}`;
      } catch (e) {
        if (e instanceof DataError) return `reject:${e.message.replace(/^.*?: /, '').replace(/0x[0-9a-f]+|\d+/gi, 'N').slice(0, 30)}`;
        throw e;
      }
    },
  };
};

/**
 * The code whose V8 block coverage guides each target (the project's compiled code by default);
 * the image decoders are JavaScript libraries, so their code counts too. (sharp and zlib are
 * native: only their JavaScript wrappers are seen.)
 */
export const COVERAGE_SCOPE: Record<string, RegExp> = {
  image: /\/dist\/src\/|\/node_modules\/(pngjs|jpeg-js)\//,
  sharp: /\/dist\/src\/|\/node_modules\/sharp\/lib\//,
};

export const TARGETS: Record<string, () => Promise<FuzzTarget>> = {
  bnn: bnnTarget,
  runtime: runtimeTarget,
  idx: idxTarget,
  image: imageTarget,
  sharp: sharpTarget,
  options: optionsTarget,
  server: serverTarget,
};
