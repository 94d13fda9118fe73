import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR } from '../src/data/index.js';
import type { Manifest } from '../src/format/manifest.js';
import { startServer } from '../src/serve/server.js';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url);
const MODELS = fileURLToPath(new URL('../../models/', import.meta.url));
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const noChromium = existsSync(CHROMIUM) ? false : `${CHROMIUM} not installed (apt-get install chromium)`;

async function launch(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** The probabilities the bars show (their data-p), in class order. */
async function barProbabilities(page: Page): Promise<number[]> {
  return page.$$eval('#logits .bar', (els) => els.map((e) => Number((e as HTMLElement).dataset['p'])));
}

function assertProbabilities(p: number[], classes: number, top: number): void {
  assert.equal(p.length, classes, 'a bar per class');
  assert.ok(p.every((v) => v >= 0 && v <= 1), `probabilities in [0, 1]: ${p.join(', ')}`);
  assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-4, `the bars are probabilities summing to 1: ${p.join(', ')}`);
  assert.equal(p.indexOf(Math.max(...p)), top, 'the predicted class has the largest probability');
}

test('browser demo: the page classifies a test image on the runtime and the attack flips it', { skip: noChromium, timeout: 120000 }, async () => {
  const server = await startServer({ port: 0 });
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}?model=c64&sample=3`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60000 });
    assert.ok(await page.isVisible('#draw'), 'a digit model gets the drawing canvas');
    assert.ok(await page.isVisible('#clear'));
    assert.ok(!(await page.isVisible('#gallery-area')), 'and no gallery');
    const label = await page.getAttribute('#label', 'data-label');
    const predicted = await page.getAttribute('#prediction', 'data-label');
    assert.ok(label !== null);
    assert.equal(predicted, label, 'the packed runtime in the page classifies the test image correctly');
    assert.equal(await page.textContent('#prediction'), label, "a digit's class name is the digit");
    assertProbabilities(await barProbabilities(page), 10, Number(predicted));
    assert.match((await page.textContent('#timing')) ?? '', /per image on the packed runtime/);
    assert.match((await page.textContent('#model-info')) ?? '', /c64: the paper's C, K = 64, 28×28×1 → 10 classes/);
    await page.$eval('#eps', (el) => {
      (el as HTMLInputElement).value = '0.3';
      el.dispatchEvent(new Event('input'));
    });
    await page.click('#attack');
    await page.waitForFunction(() => document.getElementById('adv-prediction')?.dataset['label'] !== undefined, undefined, { timeout: 60000 });
    const adversarial = await page.getAttribute('#adv-prediction', 'data-label');
    assert.notEqual(adversarial, label, "PGD ε=0.3 flips the runtime's prediction");
    // Verify at ε 0.3: the server's verifier finds a counterexample, replayed and shown here.
    await page.$eval('#verify-eps', (el) => {
      (el as HTMLInputElement).value = '0.3';
      el.dispatchEvent(new Event('input'));
    });
    await page.click('#verify');
    await page.waitForFunction(() => document.getElementById('verify-verdict')?.dataset['verdict'] !== undefined, undefined, { timeout: 60000 });
    assert.equal(await page.getAttribute('#verify-verdict', 'data-verdict'), 'counterexample');
    assert.match((await page.textContent('#verify-verdict')) ?? '', /not robust at ε = 0\.30/);
    assert.notEqual(await page.getAttribute('#adv-prediction', 'data-label'), label, 'the counterexample, replayed in the page, is misclassified');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL('demo.png', ARTIFACTS).pathname, fullPage: true });

    // Drawing: Clear, then a stroke is fitted into the model's 28×28 and classified.
    await page.click('#clear');
    assert.equal(await page.getAttribute('#label', 'data-label'), null, 'a drawing has no true label');
    const box = (await page.locator('#draw').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.2);
    await page.mouse.down();
    for (let t = 1; t <= 10; t++) await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * (0.2 + 0.06 * t));
    await page.mouse.up();
    const drawn = Number(await page.getAttribute('#prediction', 'data-label'));
    assert.equal(drawn, 1, 'a vertical stroke, fitted into 20×20 of 28×28 as MNIST was, is a 1');
    assertProbabilities(await barProbabilities(page), 10, drawn);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await server.close();
  }
});

/** `bnn-edge serve --port 0 --models DIR` in a child process, and its URL. */
async function serveCli(dir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--models', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /demo at (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`bnn-edge serve exited with ${code}: ${err}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGINT');
      await exited;
    },
  };
}

test('browser demo: a model trained on Fashion-MNIST gets a gallery of its test images, class names and probabilities', { skip: noChromium || (existsSync(FASHION_MNIST_DIR) ? false : `${FASHION_MNIST_DIR} not installed (apt-get install dataset-fashion-mnist)`), timeout: 120000 }, async () => {
  // A models directory with c64 as shipped and b64 recorded as trained on Fashion-MNIST: the page
  // must work for it whatever its accuracy there.
  const dir = mkdtempSync(join(tmpdir(), 'bnn-edge-serve-'));
  const manifest = JSON.parse(readFileSync(join(MODELS, 'manifest.json'), 'utf8')) as Manifest;
  const entry = (file: string) => manifest.models.find((m) => m.file === file)!;
  for (const f of ['b64.bnn', 'c64.bnn']) copyFileSync(join(MODELS, f), join(dir, f));
  const fashion = { ...entry('b64.bnn'), training: { ...entry('b64.bnn').training, data: 'fashion-mnist' } };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ description: manifest.description, models: [entry('c64.bnn'), fashion] }));
  const server = await serveCli(dir);
  const browser = await launch();
  try {
    // The API: the model's data, its shape and class names; bad requests say what is wrong.
    const get = async (q: string) => {
      const res = await fetch(`${server.url}api/samples?${q}`);
      return { status: res.status, body: (await res.json()) as { error?: string; shape?: number[]; classNames?: string[]; drawable?: boolean; total?: number; samples?: { index: number; label: number; pixels: number[] }[] } };
    };
    const ok = await get('model=b64&n=3&start=5');
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body.shape, [28, 28, 1]);
    assert.deepEqual(ok.body.classNames, [...FASHION_MNIST_CLASSES]);
    assert.equal(ok.body.drawable, false, 'Fashion-MNIST is not drawn');
    assert.equal(ok.body.total, 10000);
    assert.deepEqual(ok.body.samples!.map((s) => s.index), [5, 6, 7]);
    assert.ok(ok.body.samples!.every((s) => s.pixels.length === 784 && s.label >= 0 && s.label < 10));
    const digits = await get('model=c64&n=1');
    assert.equal(digits.body.drawable, true, 'c64 (embedded MNIST) is drawn');
    assert.deepEqual(digits.body.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    for (const q of ['model=b64&n=-1', 'model=b64&n=1.5', 'model=b64&n=abc', 'model=b64&n=101', 'model=b64&start=-3', 'model=b64&start=2.5', 'model=b64&start=10000', 'n=3']) {
      const r = await get(q);
      assert.equal(r.status, 400, q);
      assert.ok(r.body.error && r.body.error.length > 0, `${q}: a message`);
    }
    const missing = await get('model=a64&n=1');
    assert.equal(missing.status, 404, 'a model missing from the manifest');
    assert.match(missing.body.error ?? '', /a64 is not in/);

    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}?model=b64`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60000 });
    assert.ok(await page.isVisible('#gallery-area'), 'a Fashion-MNIST model gets the gallery');
    assert.ok(!(await page.isVisible('#draw')), 'and no drawing canvas');
    assert.ok(!(await page.isVisible('#clear')));
    assert.match((await page.textContent('#model-info')) ?? '', /b64: the paper's B, K = 64, 28×28×1 → 10 classes/);
    const thumbs = await page.$$('#gallery .thumb');
    assert.equal(thumbs.length, 12, 'a page of test images');
    await thumbs[4]!.click();
    const truth = await thumbs[4]!.getAttribute('data-label');
    assert.equal(await page.getAttribute('#label', 'data-label'), truth, 'the clicked image is the one classified');
    const name = (await page.textContent('#prediction')) ?? '';
    const predicted = Number(await page.getAttribute('#prediction', 'data-label'));
    assert.ok((FASHION_MNIST_CLASSES as readonly string[]).includes(name), `a Fashion-MNIST class name: "${name}"`);
    assert.equal(name, FASHION_MNIST_CLASSES[predicted]);
    assertProbabilities(await barProbabilities(page), 10, predicted);
    assert.deepEqual(await page.$$eval('#logits .bar-name', (els) => els.map((e) => e.textContent)), [...FASHION_MNIST_CLASSES], 'bars labelled by class name');
    assert.match((await page.textContent('#label')) ?? '', new RegExp(`true label ${FASHION_MNIST_CLASSES[Number(truth)]!.replace('/', '\\/')}`));

    // More: other test images.
    const before = await page.$$eval('#gallery .thumb', (els) => els.map((e) => (e as HTMLElement).dataset['index']));
    await page.click('#more');
    await page.waitForFunction((b) => document.querySelector<HTMLElement>('#gallery .thumb')?.dataset['index'] !== b, before[0]);
    const after = await page.$$eval('#gallery .thumb', (els) => els.map((e) => (e as HTMLElement).dataset['index']));
    assert.ok(after.every((i) => !before.includes(i)), 'More shows other images');

    // The attack works on a gallery image too, and answers with a class name.
    await page.click('#gallery .thumb >> nth=2');
    await page.click('#attack');
    await page.waitForFunction(() => document.getElementById('adv-prediction')?.dataset['label'] !== undefined, undefined, { timeout: 60000 });
    assert.ok((FASHION_MNIST_CLASSES as readonly string[]).includes((await page.textContent('#adv-prediction')) ?? ''));
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL('demo-gallery.png', ARTIFACTS).pathname, fullPage: true });

    // Switching models switches the mode: canvas for c64, gallery again for b64.
    await page.selectOption('#model', 'c64');
    await page.waitForFunction(() => document.body.dataset['mode'] === 'draw' && document.getElementById('status')?.textContent === 'c64 loaded');
    assert.ok(await page.isVisible('#draw'));
    assert.ok(!(await page.isVisible('#gallery-area')));
    await page.waitForFunction(() => document.getElementById('label')?.dataset['label'] !== undefined);
    assert.match((await page.textContent('#prediction')) ?? '', /^\d$/);
    await page.selectOption('#model', 'b64');
    await page.waitForFunction(() => document.body.dataset['mode'] === 'gallery' && document.querySelector('#gallery .thumb.selected') !== null);
    assert.ok(!(await page.isVisible('#draw')));
    assert.ok((FASHION_MNIST_CLASSES as readonly string[]).includes((await page.textContent('#prediction')) ?? ''));
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
