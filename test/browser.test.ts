import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { startServer } from '../src/serve/server.js';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url);

test('browser demo: the page classifies a test image on the runtime and the attack flips it', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} not installed (apt-get install chromium)`, timeout: 120000 }, async () => {
  const { chromium } = await import('playwright-core');
  const server = await startServer({ port: 0 });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}?model=c64&sample=3`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60000 });
    const label = await page.getAttribute('#label', 'data-label');
    const predicted = await page.textContent('#prediction');
    assert.ok(label !== null);
    assert.equal(predicted, label, 'the packed runtime in the page classifies the test image correctly');
    assert.match((await page.textContent('#timing')) ?? '', /per image on the packed runtime/);
    assert.match((await page.textContent('#model-info')) ?? '', /c64: the paper's C, K = 64, 28×28×1 → 10 classes/);
    await page.$eval('#eps', (el) => {
      (el as HTMLInputElement).value = '0.3';
      el.dispatchEvent(new Event('input'));
    });
    await page.click('#attack');
    await page.waitForFunction(() => document.getElementById('adv-prediction')?.dataset['label'] !== undefined, undefined, { timeout: 60000 });
    const adversarial = await page.getAttribute('#adv-prediction', 'data-label');
    assert.notEqual(adversarial, label, 'PGD ε=0.3 flips the runtime\'s prediction');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL('demo.png', ARTIFACTS).pathname, fullPage: true });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await server.close();
  }
});
