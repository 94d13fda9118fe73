/**
 * The packages as a user meets them: `npm pack` both, install the tarballs into a fresh project,
 * run the CLI there, import both entry points from an ESM script and a strict TypeScript file, and
 * bundle the runtime for a browser with esbuild and run it in headless Chromium.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { loadData } from '../src/data/index.js';
import { BnnRuntime } from '../src/runtime/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
/** The bound on the bnn-edge tarball. */
const MAX_TARBALL_BYTES = 5_000_000;
/** What the runtime package may hold: its bundles, the two builds, types, and the npm files. */
const RUNTIME_FILES = ['LICENSE', 'README.md', 'package.json', 'dist/bnn-edge-runtime.browser.js', 'dist/bnn-edge-runtime.node.js', 'dist/bnn-scalar.wasm', 'dist/bnn-simd.wasm', 'dist/index.d.ts'];

let work = '';
let project = '';
const tarballs: Record<'main' | 'runtime', { file: string; size: number; files: string[] }> = {} as never;

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 600_000, ...opts });
  return { code: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

function pack(dir: string): { file: string; size: number; files: string[] } {
  // --ignore-scripts: `npm test` has just built dist/; prepare would build it again.
  const r = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const [info] = JSON.parse(r.stdout) as { filename: string; size: number; files: { path: string }[] }[];
  return { file: join(work, info!.filename), size: info!.size, files: info!.files.map((f) => f.path) };
}

/** The bnn-edge command of the installed package. */
function bnnEdge(...args: string[]) {
  return run('npx', ['--no-install', 'bnn-edge', ...args], { cwd: project });
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'bnn-pack-'));
  tarballs.main = pack(ROOT);
  tarballs.runtime = pack(join(ROOT, 'packages', 'runtime'));
  project = join(work, 'app');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-app', private: true, type: 'module' }));
  // bnn-edge alone first: it installs with nothing unpublished (bnn-edge-runtime is bundled in it).
  const main = run('npm', ['install', '--no-audit', '--no-fund', tarballs.main.file], { cwd: project });
  assert.equal(main.code, 0, `npm install of the bnn-edge tarball failed:\n${main.stderr}`);
  const r = run('npm', ['install', '--no-audit', '--no-fund', tarballs.runtime.file], { cwd: project });
  assert.equal(r.code, 0, `npm install of the bnn-edge-runtime tarball failed:\n${r.stderr}`);
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('package contents: bnn-edge ≤ 5 MB with no benchmarks or research models; the runtime package holds only the runtime', () => {
  assert.ok(tarballs.main.size <= MAX_TARBALL_BYTES, `bnn-edge tarball ${tarballs.main.size} bytes`);
  const files = tarballs.main.files;
  assert.ok(!files.some((f) => f.startsWith('dist/bench/') || f.startsWith('dist/test/') || f.startsWith('bench/')), 'no benchmarks or tests');
  for (const m of ['b64', 'c64', 'a64-pgd']) assert.ok(files.includes(`models/${m}.bnn`), `${m} ships`);
  assert.ok(!files.includes('models/a128-pgd149.bnn'), 'the research models stay in the repository');
  assert.ok(files.includes('LICENSE') && files.includes('CHANGELOG.md'));
  for (const f of RUNTIME_FILES) assert.ok(files.includes(`node_modules/bnn-edge-runtime/${f}`), `bnn-edge-runtime's ${f} is bundled`);
  assert.deepEqual([...tarballs.runtime.files].sort(), [...RUNTIME_FILES].sort());
  // No shipped module names a source map that is not there (bundlers' source-map loaders warn on each).
  for (const js of files.filter((f) => f.endsWith('.js'))) {
    const map = /\/\/# sourceMappingURL=(?!data:)(\S+)\s*$/.exec(readFileSync(join(ROOT, js), 'utf8'))?.[1];
    if (map) assert.ok(files.includes(posix.join(posix.dirname(js), map)), `${js} names ${map}, which does not ship`);
  }
  const pkg = JSON.parse(readFileSync(join(ROOT, 'packages/runtime/package.json'), 'utf8')) as { dependencies?: object };
  assert.equal(pkg.dependencies, undefined, 'the runtime package has no dependencies');
});

test('the installed CLI: --version, models, info, eval, classify and attack by model name; bench says where it runs', () => {
  const version = bnnEdge('--version');
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout.trim(), JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  const models = bnnEdge('models', '--json');
  assert.equal(models.code, 0, models.stderr);
  const listed = JSON.parse(models.stdout) as { models: { name: string; path: string | null; rebuild: string | null }[] };
  assert.ok(listed.models.find((m) => m.name === 'b64')?.path?.includes(join('node_modules', 'bnn-edge', 'models')), 'b64 is installed');
  assert.match(listed.models.find((m) => m.name === 'a128-pgd149')?.rebuild ?? '', /^bnn-edge train /, 'a research model says how to rebuild it');
  const info = bnnEdge('info', 'c64');
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, /model c64 \(the paper's C, K = 64\)/);
  const evaluated = bnnEdge('eval', 'b64', '--n', '200', '--json');
  assert.equal(evaluated.code, 0, evaluated.stderr);
  const e = JSON.parse(evaluated.stdout) as { images: number; agreement: number; runtimeAccuracy: number };
  assert.equal(e.images, 200);
  assert.equal(e.agreement, 1, 'runtime and tfjs agree on every image');
  assert.ok(e.runtimeAccuracy > 0.8, `b64 accuracy ${e.runtimeAccuracy}`);

  // A test digit, 3× upscaled into an RGB PNG: classify resizes it back to 28×28 gray.
  const test = loadData({ testOnly: true }).test;
  const png = new PNG({ width: 84, height: 84 });
  for (let y = 0; y < 84; y++)
    for (let x = 0; x < 84; x++) {
      const v = Math.round(255 * test.images[Math.floor(y / 3) * 28 + Math.floor(x / 3)]!);
      png.data.set([v, v, v, 255], (y * 84 + x) * 4);
    }
  writeFileSync(join(project, 'digit.png'), PNG.sync.write(png));
  const classified = bnnEdge('classify', 'c64', 'digit.png', '--json');
  assert.equal(classified.code, 0, classified.stderr);
  const c = JSON.parse(classified.stdout) as { classifications: { label: number; probability: number; top: { label: number }[] }[] };
  assert.equal(c.classifications[0]!.label, test.labels[0], 'the digit is classified as its label');
  assert.equal(c.classifications[0]!.top.length, 3);

  const attacked = bnnEdge('attack', 'b64', '--n', '20', '--eps', '0.1', '--json');
  assert.equal(attacked.code, 0, attacked.stderr);
  const a = JSON.parse(attacked.stdout) as { images: number; rows: { agreement: number }[] };
  assert.equal(a.images, 20);
  assert.equal(a.rows[0]!.agreement, 1, 'every adversarial image gets the same label on tfjs and the runtime');

  const bench = bnnEdge('bench');
  assert.equal(bench.code, 2);
  assert.match(bench.stderr, /the benchmarks run from a clone of the repository/);
  assert.doesNotMatch(bench.stderr, /ERR_MODULE_NOT_FOUND|\n\s+at /);
});

test('ship writes ./models of the working directory, never into node_modules', () => {
  // A run: an exported checkpoint directory is what ship takes; train one tiny epoch.
  const t = bnnEdge('train', '--arch', 'B', '--k', '8', '--epochs', '1', '--limit', '256', '--workers', '0', '--quiet', '--out', 'runs/tiny');
  assert.equal(t.code, 0, t.stderr);
  const again = bnnEdge('train', '--arch', 'B', '--k', '8', '--epochs', '1', '--limit', '256', '--workers', '0', '--quiet', '--out', 'runs/tiny');
  assert.equal(again.code, 2, 'a second run into the same --out is refused');
  assert.match(again.stderr, /holds a run of b8 \(1 of 1 epochs\): continue it with --resume, replace it with --force/);
  const s = bnnEdge('ship', 'runs/tiny', '--name', 'tiny', '--json');
  assert.equal(s.code, 0, s.stderr);
  assert.ok(existsSync(join(project, 'models', 'tiny.bnn')) && existsSync(join(project, 'models', 'manifest.json')));
  assert.ok(!existsSync(join(project, 'node_modules', 'bnn-edge', 'models', 'tiny.bnn')));
  const e = bnnEdge('info', 'tiny');
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /models\/tiny\.bnn: model b8/, 'a shipped model is found by name');
});

test('serve from the installed package: the page, the runtime bundle and a model are served', async () => {
  const { spawn } = await import('node:child_process');
  const child = spawn('npx', ['--no-install', 'bnn-edge', 'serve', '--port', '0'], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /bnn-edge demo at (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!.replace(/\/$/, ''));
      });
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
      setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 60_000);
    });
    for (const path of ['/', '/runtime/bnn-edge-runtime.browser.js', '/runtime/bnn-simd.wasm', '/models/b64.bnn']) {
      const res = await fetch(`${url}${path}`);
      assert.equal(res.status, 200, `${path}: ${res.status}`);
      await res.arrayBuffer();
    }
  } finally {
    process.kill(-child.pid!, 'SIGINT');
  }
});

test('both entry points import from an ESM script and type-check in a strict TypeScript file', () => {
  const script = `
import { BnnRuntime } from 'bnn-edge-runtime';
import { BnnRuntime as ReExported, BnnFormatError as SubpathFormatError } from 'bnn-edge/runtime';
import { loadData, readModelFile, DeployedGraph, initTfjs, predictLabels, BnnRuntime as MainRuntime, BnnFormatError, parseBnn } from 'bnn-edge';
// In Node, bnn-edge/runtime is the runtime bnn-edge itself uses: one class, one error type.
if (ReExported !== MainRuntime) throw new Error('bnn-edge/runtime and bnn-edge export different BnnRuntime classes');
try { parseBnn(new Uint8Array(8)); } catch (e) { if (!(e instanceof SubpathFormatError) || !(e instanceof BnnFormatError)) throw new Error('a BnnFormatError from bnn-edge is not one of bnn-edge/runtime'); }
const { model } = readModelFile('node_modules/bnn-edge/models/b64.bnn');
const test = loadData({ testOnly: true }).test;
const images = test.images.subarray(0, 20 * 784);
const rt = await BnnRuntime.load('node_modules/bnn-edge/models/b64.bnn');
const viaBytes = await ReExported.load(new Uint8Array((await import('node:fs')).readFileSync('node_modules/bnn-edge/models/b64.bnn')));
await initTfjs();
const g = new DeployedGraph(model);
const p = rt.probabilities(images, 20);
console.log(JSON.stringify({ runtime: Array.from(rt.predict(images, 20)), bytes: Array.from(viaBytes.predict(images, 20)), tfjs: Array.from(predictLabels((x) => g.logits(x), images, 20, model.graph.input)), sum: p.subarray(0, 10).reduce((a, b) => a + b, 0) }));
`;
  writeFileSync(join(project, 'check.mjs'), script);
  const r = run(process.execPath, ['check.mjs'], { cwd: project });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { runtime: number[]; bytes: number[]; tfjs: number[]; sum: number };
  assert.equal(out.runtime.length, 20);
  assert.deepEqual(out.bytes, out.runtime, 'loading from bytes and from a path give the same model');
  assert.deepEqual(out.tfjs, out.runtime, 'the runtime package and the library agree');
  assert.ok(Math.abs(out.sum - 1) < 1e-5, 'probabilities sum to 1');

  const ts = `
import { BnnRuntime, BnnInputError, type RuntimeOptions, type ModelGraph } from 'bnn-edge-runtime';
import { BnnRuntime as ReExported } from 'bnn-edge/runtime';
import { defineGraph, GraphBuilder, quantConv2d, quantDense, globalAvgPool2d, BnnRuntime as MainRuntime, type Dataset } from 'bnn-edge';

const options: RuntimeOptions = { simd: true, maxBatch: 8 };
export async function classify(bytes: Uint8Array, images: Float32Array, n: number): Promise<{ labels: Int32Array; p: Float32Array; graph: ModelGraph }> {
  const rt: BnnRuntime = await BnnRuntime.load(bytes, options);
  try {
    return { labels: rt.predict(images, n), p: rt.probabilities(images, n), graph: rt.model.graph };
  } catch (e) {
    if (e instanceof BnnInputError) throw new Error(e.code);
    throw e;
  } finally {
    rt.dispose();
  }
}
export const same: typeof MainRuntime = ReExported;
export const sameRuntime = (rt: MainRuntime): ReExportedInstance => rt;
type ReExportedInstance = Awaited<ReturnType<typeof ReExported.load>>;
const b = new GraphBuilder({ name: 'tiny', input: [8, 8, 1], classes: 2 });
const x = quantConv2d({ name: 'c', filters: 4, kernelSize: 3, kernelQuantizer: 'ste_sign' }).apply(b.input);
export const graph: ModelGraph = defineGraph(b.build(quantDense({ name: 'd', units: 2 }).apply(globalAvgPool2d({ name: 'g' }).apply(x))));
export const size = (d: Dataset): number => d.height * d.width * d.channels;
`;
  writeFileSync(join(project, 'check.ts'), ts);
  // The runtime's own .d.ts is checked too (skipLibCheck off); bnn-edge's pulls in tfjs's, which do
  // not pass these flags themselves, so that file is checked against them with skipLibCheck on.
  writeFileSync(join(project, 'check-runtime.ts'), ts.split('\n').filter((l) => !/bnn-edge'|bnn-edge\/runtime'|GraphBuilder|same: |sameRuntime|ReExportedInstance|const x =|graph: ModelGraph = |Dataset\)/.test(l)).join('\n'));
  for (const [file, skipLibCheck] of [['check-runtime.ts', false], ['check.ts', true]] as const) {
    const tsconfig = { compilerOptions: { strict: true, noEmit: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022', 'DOM'], types: [], skipLibCheck, exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true }, files: [file] };
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(tsconfig));
    const tsc = run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: project });
    assert.equal(tsc.code, 0, `strict TypeScript (${file}) against the installed types:\n${tsc.stdout}${tsc.stderr}`);
  }
});

test('the runtime bundled for a browser by esbuild (no configuration) classifies a test image in headless Chromium', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} not installed` }, async () => {
  const www = join(project, 'www');
  mkdirSync(www, { recursive: true });
  writeFileSync(
    join(project, 'browser-app.js'),
    `import { BnnRuntime, simdSupported } from 'bnn-edge-runtime';
const rt = await BnnRuntime.load('./b64.bnn');
const image = new Float32Array(await (await fetch('./digit.f32')).arrayBuffer());
const p = rt.probabilities(image, 1);
document.body.dataset.result = JSON.stringify({ label: rt.predict(image, 1)[0], p: Array.from(p), simd: simdSupported() });
`,
  );
  const { build } = await import('esbuild');
  const result = await build({ entryPoints: [join(project, 'browser-app.js')], absWorkingDir: project, bundle: true, format: 'esm', platform: 'browser', outfile: join(www, 'app.js'), write: true, logLevel: 'silent', metafile: true });
  assert.deepEqual(result.errors, []);
  const bundled = readFileSync(join(www, 'app.js'), 'utf8');
  assert.doesNotMatch(bundled, /["']node:/, 'no Node module reaches the browser bundle');
  assert.ok(Object.keys(result.metafile.inputs).some((f) => f.includes('bnn-edge-runtime.browser.js')), 'the browser condition picked the browser build');
  // The user's one step: the two .wasm builds go beside the bundle.
  for (const f of ['bnn-simd.wasm', 'bnn-scalar.wasm']) copyFileSync(join(project, 'node_modules/bnn-edge-runtime/dist', f), join(www, f));
  copyFileSync(join(project, 'node_modules/bnn-edge/models/b64.bnn'), join(www, 'b64.bnn'));
  const test = loadData({ testOnly: true }).test;
  const image = test.images.slice(0, 784);
  writeFileSync(join(www, 'digit.f32'), new Uint8Array(image.buffer));
  writeFileSync(join(www, 'index.html'), '<!doctype html><meta charset="utf-8"><script type="module" src="./app.js"></script>');

  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
  const server: Server = createServer((req, res) => {
    const file = join(www, new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/$/, '/index.html'));
    if (!file.startsWith(www) || !existsSync(file) || !statSync(file).isFile()) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const port = (server.address() as { port: number }).port;
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForSelector('body[data-result]', { state: 'attached', timeout: 60_000 });
    const got = JSON.parse((await page.getAttribute('body', 'data-result'))!) as { label: number; p: number[]; simd: boolean };
    assert.deepEqual(errors, []);
    const rt = await BnnRuntime.load(join(ROOT, 'models/b64.bnn'));
    assert.equal(got.label, rt.predict(image, 1)[0], 'the browser gives the label Node gives');
    assert.equal(got.label, test.labels[0], 'and it is the right one');
    const p = rt.probabilities(image, 1);
    assert.ok(got.p.every((v, i) => Math.abs(v - p[i]!) < 1e-6), 'and the same probabilities');
    assert.equal(got.simd, true, 'Chromium runs the simd128 build');
  } finally {
    await browser.close();
    server.close();
  }
});
