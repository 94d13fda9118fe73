// The demo page: loads a .bnn into the standalone runtime (bnn-edge/runtime) and classifies in
// the browser; attacks are crafted by the server on the tfjs graph and replayed here.
import { BnnRuntime, describeModel, parseBnn } from '/runtime/bnn-edge-runtime.js';

const $ = (id) => document.getElementById(id);
const status = (msg) => ($('status').textContent = msg);
let rt = null;
let modelName = '';
let current = new Float32Array(784);
let currentLabel = null;

async function loadModel(name) {
  status(`loading ${name}…`);
  const bytes = new Uint8Array(await (await fetch(`/models/${name}.bnn`)).arrayBuffer());
  const info = describeModel(parseBnn(bytes), bytes.length);
  rt = await BnnRuntime.load(bytes);
  modelName = name;
  const what = info.paper ? `the paper's ${info.paper.arch}, K = ${info.paper.k}` : `${info.layers.length} layers`;
  $('model-info').textContent = `${info.model}: ${what}, ${info.input.join('×')} → ${info.classes} classes, ${(info.fileBytes / 1024).toFixed(1)} KiB (${info.compression.toFixed(1)}× smaller than float32), ${rt.flavor} kernels`;
  status(`${name} loaded`);
  classify();
}

function classify() {
  if (!rt) return;
  const t0 = performance.now();
  const reps = 20;
  let logits;
  for (let i = 0; i < reps; i++) logits = rt.logits(current, 1);
  const ms = (performance.now() - t0) / reps;
  const pred = argmax(logits);
  $('prediction').textContent = String(pred);
  $('prediction').dataset.label = String(pred);
  $('timing').textContent = `${ms < 1 ? (ms * 1000).toFixed(0) + ' µs' : ms.toFixed(2) + ' ms'} per image on the packed runtime`;
  drawBars(logits, pred);
}

function argmax(a) {
  let b = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[b]) b = i;
  return b;
}

function drawBars(logits, pred) {
  const max = Math.max(...logits.map(Math.abs), 1e-9);
  const el = $('logits');
  el.innerHTML = '';
  logits.forEach((v, i) => {
    const bar = document.createElement('div');
    bar.className = 'bar' + (i === pred ? ' top' : '');
    bar.style.width = `${Math.max(2, (100 * Math.max(v, 0)) / max)}%`;
    el.append(Object.assign(document.createElement('span'), { textContent: i }), bar, Object.assign(document.createElement('span'), { textContent: v.toFixed(2) }));
  });
}

function paint(canvas, pixels, signed = false, eps = 1) {
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = signed ? Math.round(128 + (127 * pixels[i]) / eps) : Math.round(255 * pixels[i]);
    img.data.set([v, v, v, 255], i * 4);
  }
  const tmp = document.createElement('canvas');
  tmp.width = tmp.height = 28;
  tmp.getContext('2d').putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
}

// Drawing: thick strokes on a 280×280 canvas, reduced to a centered 28×28 image like MNIST.
const draw = $('draw');
const dctx = draw.getContext('2d');
function clearCanvas() {
  dctx.fillStyle = '#000';
  dctx.fillRect(0, 0, 280, 280);
}
clearCanvas();
let drawing = false;
const pos = (e) => {
  const r = draw.getBoundingClientRect();
  return [((e.clientX - r.left) * 280) / r.width, ((e.clientY - r.top) * 280) / r.height];
};
draw.addEventListener('pointerdown', (e) => {
  drawing = true;
  currentLabel = null;
  $('label').textContent = '';
  dctx.beginPath();
  dctx.moveTo(...pos(e));
});
draw.addEventListener('pointermove', (e) => {
  if (!drawing) return;
  dctx.lineTo(...pos(e));
  dctx.strokeStyle = '#fff';
  dctx.lineWidth = 22;
  dctx.lineCap = 'round';
  dctx.lineJoin = 'round';
  dctx.stroke();
  current = fromCanvas();
  classify();
});
window.addEventListener('pointerup', () => (drawing = false));

function fromCanvas() {
  const src = dctx.getImageData(0, 0, 280, 280).data;
  let [x0, y0, x1, y1] = [280, 280, -1, -1];
  for (let y = 0; y < 280; y++)
    for (let x = 0; x < 280; x++)
      if (src[(y * 280 + x) * 4] > 20) [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
  const out = new Float32Array(784);
  if (x1 < 0) return out;
  // Fit the bounding box into 20×20 and center it in 28×28 (as MNIST was prepared).
  const size = Math.max(x1 - x0, y1 - y0) + 1;
  const tmp = document.createElement('canvas');
  tmp.width = tmp.height = 28;
  const t = tmp.getContext('2d');
  t.fillStyle = '#000';
  t.fillRect(0, 0, 28, 28);
  const w = ((x1 - x0 + 1) * 20) / size;
  const h = ((y1 - y0 + 1) * 20) / size;
  t.drawImage(draw, x0, y0, x1 - x0 + 1, y1 - y0 + 1, (28 - w) / 2, (28 - h) / 2, w, h);
  const d = t.getImageData(0, 0, 28, 28).data;
  for (let i = 0; i < 784; i++) out[i] = d[i * 4] / 255;
  return out;
}

async function pickSample(index) {
  const start = index ?? Math.floor(Math.random() * 1990);
  const { samples } = await (await fetch(`/api/samples?n=1&start=${start}`)).json();
  const s = samples[0];
  current = Float32Array.from(s.pixels);
  currentLabel = s.label;
  $('label').textContent = ` (test image #${s.index}, true label ${s.label})`;
  $('label').dataset.label = String(s.label);
  paint(draw, current);
  classify();
}

async function attack() {
  if (!rt) return;
  const eps = Number($('eps').value);
  const label = currentLabel ?? Number($('prediction').dataset.label);
  status('attacking on the server (tfjs graph rebuilt from the .bnn)…');
  $('adv-prediction').textContent = '…';
  const res = await fetch('/api/attack', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: modelName, pixels: Array.from(current), label, attack: $('attack-kind').value, eps }),
  });
  const out = await res.json();
  if (!res.ok) return status(`attack failed: ${out.error}`);
  const adv = Float32Array.from(out.adversarial);
  const pred = rt.predict(adv, 1)[0];
  paint($('adv'), adv);
  paint($('delta'), adv.map((v, i) => v - current[i]), true, eps);
  $('adv-prediction').textContent = String(pred);
  $('adv-prediction').dataset.label = String(pred);
  $('adv-info').textContent = `(${out.attack.toUpperCase()} ε=${eps.toFixed(2)}, L2 ${out.l2.toFixed(2)}; ${pred === label ? 'the model held' : `flipped from ${label}`})`;
  status('attack replayed on the packed runtime');
}

$('clear').addEventListener('click', () => {
  clearCanvas();
  current = new Float32Array(784);
  currentLabel = null;
  $('label').textContent = '';
  classify();
});
$('sample').addEventListener('click', () => pickSample());
$('attack').addEventListener('click', attack);
$('eps').addEventListener('input', () => ($('eps-value').textContent = Number($('eps').value).toFixed(2)));
$('model').addEventListener('change', () => loadModel($('model').value).then(() => currentLabel !== null && classify()));

(async () => {
  const manifest = await (await fetch('/models/manifest.json')).json();
  const params = new URLSearchParams(location.search);
  for (const m of manifest.models) {
    const name = m.file.replace(/\.bnn$/, '');
    $('model').append(new Option(`${name} — ${(100 * m.testAccuracy.runtime).toFixed(1)}% clean`, name));
  }
  $('model').value = params.get('model') ?? (manifest.models.find((m) => m.file === 'c64.bnn') ? 'c64' : manifest.models[0].file.replace(/\.bnn$/, ''));
  await loadModel($('model').value);
  await pickSample(params.has('sample') ? Number(params.get('sample')) : undefined);
  document.body.dataset.ready = 'true';
})().catch((e) => status(`error: ${e.message}`));
