// The demo page: loads a .bnn into the standalone runtime (bnn-edge/runtime) and classifies in
// the browser; attacks are crafted by the server on the tfjs graph and replayed here, and the
// server's verifier says whether the image is provably robust at ε.
//
// Everything is sized from the model's input shape [H, W, C]. A one-channel model trained on
// MNIST digits gets a drawing canvas; any other model gets a gallery of test images of the data
// it was trained on (from /api/samples), in color for three channels.
import { BnnRuntime, describeModel, parseBnn } from '/runtime/bnn-edge-runtime.browser.js';

const $ = (id) => document.getElementById(id);
const status = (msg) => ($('status').textContent = msg);
/** Thumbnails per gallery page. */
const GALLERY = 12;
/** The drawing canvas's width in canvas pixels (its height follows the model's aspect). */
const DRAW_SIZE = 280;
/** The adversarial and perturbation canvases' width. */
const SMALL_SIZE = 140;

let rt = null;
let modelName = '';
/** The model's input [H, W, C]. */
let shape = [28, 28, 1];
/** What /api/samples says about the model's data: source, total, classNames, drawable. */
let meta = null;
let current = new Float32Array(784);
let currentLabel = null;
let galleryStart = 0;
/** Bumped on every model load: answers that arrive for an earlier model are dropped. */
let generation = 0;

const pixelsPerImage = () => shape[0] * shape[1] * shape[2];
const className = (i) => meta?.classNames?.[i] ?? String(i);

async function getJson(url, init) {
  const res = await fetch(url, init);
  const out = await res.json().catch(() => ({ error: `${res.status} ${res.statusText}` }));
  if (!res.ok) throw new Error(out.error ?? `${res.status} ${res.statusText}`);
  return out;
}

async function loadModel(name, sample) {
  const gen = ++generation;
  status(`loading ${name}…`);
  const res = await fetch(`/models/${encodeURIComponent(name)}.bnn`);
  if (!res.ok) throw new Error(`no model ${name} (${res.status})`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const info = describeModel(parseBnn(bytes), bytes.length);
  const next = await BnnRuntime.load(bytes);
  let data;
  let dataError = null;
  try {
    data = await getJson(`/api/samples?model=${encodeURIComponent(name)}&n=0`);
    if (data.shape.some((v, i) => v !== info.input[i])) throw new Error(`the model takes ${info.input.join('×')} images, its data has ${data.shape.join('×')}`);
  } catch (e) {
    // Without its test images the model still classifies: drawn input for one channel.
    dataError = e.message;
    data = { source: null, total: 0, shape: info.input, classNames: Array.from({ length: info.classes }, (_, i) => String(i)), drawable: info.input[2] === 1 };
  }
  if (gen !== generation) return next.dispose();
  const keep = meta !== null && data.source !== null && meta.source === data.source && meta.shape.every((v, i) => v === data.shape[i]);
  rt?.dispose();
  rt = next;
  modelName = name;
  meta = data;
  shape = [...info.input];
  const what = info.paper ? `the paper's ${info.paper.arch}, K = ${info.paper.k}` : `${info.layers.length} layers`;
  $('model-info').textContent = `${info.model}: ${what}, ${info.input.join('×')} → ${info.classes} classes, ${(info.fileBytes / 1024).toFixed(1)} KiB (${info.compression.toFixed(1)}× smaller than float32), ${rt.flavor} kernels`;
  const names = meta.classNames.length > 12 ? `${meta.classNames.slice(0, 12).join(', ')}, …` : meta.classNames.join(', ');
  $('data-info').textContent = meta.source ? `Data: ${meta.source}, ${meta.total.toLocaleString('en-US')} test images; classes ${names}` : `No test images: ${dataError}`;
  setMode();
  resetAttack();
  resetVerify();
  if (!keep) {
    $('gallery').replaceChildren();
    current = new Float32Array(pixelsPerImage());
    currentLabel = null;
    showLabel(null);
  }
  status(dataError ? `${name} loaded; its test images are unavailable: ${dataError}` : `${name} loaded`);
  if (meta.total === 0) return classify();
  if (meta.drawable) {
    if (keep && sample === undefined) {
      if (currentLabel !== null) paint($('draw'), current);
      else current = fromCanvas();
      return classify();
    }
    clearCanvas();
    return pickSample(sample);
  }
  if (keep && sample === undefined) return classify();
  const start = sample ?? Math.floor(Math.random() * Math.max(1, meta.total - GALLERY + 1));
  await loadGallery(start, gen);
  if (gen === generation) $('gallery').querySelector('.thumb')?.click();
}

/** Canvas for drawable models, gallery otherwise; every canvas sized from the input shape. */
function setMode() {
  const [h, w] = shape;
  const drawable = meta.drawable;
  $('draw-area').hidden = !drawable;
  $('gallery-area').hidden = drawable;
  $('sample').hidden = meta.total === 0;
  $('more').hidden = meta.total === 0;
  $('hint').textContent = drawable
    ? `Draw a digit with the mouse or a finger${meta.total ? ', or pick a held-out test image' : ''}`
    : meta.total
      ? `Click a held-out test image of ${meta.source} to classify it`
      : 'No test images for this model';
  document.body.dataset.mode = drawable ? 'draw' : 'gallery';
  const draw = $('draw');
  const height = Math.max(1, Math.round((DRAW_SIZE * h) / w));
  if (draw.width !== DRAW_SIZE || draw.height !== height) {
    draw.width = DRAW_SIZE;
    draw.height = height;
    clearCanvas();
  }
  for (const c of [$('adv'), $('delta')]) {
    c.width = SMALL_SIZE;
    c.height = Math.max(1, Math.round((SMALL_SIZE * h) / w));
  }
}

function showLabel(s) {
  const el = $('label');
  if (!s) {
    el.textContent = '';
    delete el.dataset.label;
    return;
  }
  el.textContent = ` (test image #${s.index}, true label ${className(s.label)})`;
  el.dataset.label = String(s.label);
}

function classify() {
  if (!rt) return;
  const t0 = performance.now();
  const reps = 20;
  let logits;
  for (let i = 0; i < reps; i++) logits = rt.logits(current, 1);
  const ms = (performance.now() - t0) / reps;
  const pred = argmax(logits);
  const el = $('prediction');
  el.textContent = className(pred);
  el.dataset.label = String(pred);
  el.classList.toggle('long', className(pred).length > 3);
  $('timing').textContent = `${ms < 1 ? (ms * 1000).toFixed(0) + ' µs' : ms.toFixed(2) + ' ms'} per image on the packed runtime`;
  drawBars(softmax(logits), pred);
  // A verdict was about the previous image.
  resetVerify();
}

function argmax(a) {
  let b = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[b]) b = i;
  return b;
}

/** Probabilities from logits (shifted by the largest, so no exponent overflows). */
function softmax(logits) {
  const max = Math.max(...logits);
  const e = Array.from(logits, (v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

function drawBars(probs, pred) {
  const el = $('logits');
  el.replaceChildren();
  probs.forEach((p, i) => {
    const name = Object.assign(document.createElement('span'), { className: 'bar-name', textContent: className(i), title: className(i) });
    const track = Object.assign(document.createElement('div'), { className: 'track' });
    const bar = Object.assign(document.createElement('div'), { className: 'bar' + (i === pred ? ' top' : '') });
    bar.dataset.p = String(p);
    bar.dataset.class = String(i);
    bar.style.width = `${(100 * p).toFixed(2)}%`;
    track.append(bar);
    const value = Object.assign(document.createElement('span'), { className: 'bar-value', textContent: `${(100 * p).toFixed(p < 0.001 && p > 0 ? 2 : 1)}%` });
    if (i === pred) name.classList.add('top');
    el.append(name, track, value);
  });
}

/** Draws an H×W×C image (channels last, [0, 1]) scaled to the canvas: gray for one channel, RGB for three; `signed` maps [−eps, eps] to black..white. */
function paint(canvas, pixels, signed = false, eps = 1) {
  const [h, w, c] = shape;
  const img = new ImageData(w, h);
  const to255 = (v) => (signed ? 128 + (127 * v) / eps : 255 * v);
  for (let i = 0; i < h * w; i++) {
    const r = to255(pixels[i * c]);
    const [g, b] = c >= 3 ? [to255(pixels[i * c + 1]), to255(pixels[i * c + 2])] : [r, r];
    img.data.set([r, g, b, 255], i * 4); // Uint8ClampedArray: rounded and clamped to 0..255
  }
  const tmp = document.createElement('canvas');
  tmp.width = w;
  tmp.height = h;
  tmp.getContext('2d').putImageData(img, 0, 0);
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
}

// Drawing: thick white strokes on black, reduced to the model's H×W like MNIST (the drawing's
// bounding box fitted into 20/28 of each side and centered).
const draw = $('draw');
const dctx = draw.getContext('2d');
function clearCanvas() {
  dctx.fillStyle = '#000';
  dctx.fillRect(0, 0, draw.width, draw.height);
}
clearCanvas();
let drawing = false;
const pos = (e) => {
  const r = draw.getBoundingClientRect();
  return [((e.clientX - r.left) * draw.width) / r.width, ((e.clientY - r.top) * draw.height) / r.height];
};
draw.addEventListener('pointerdown', (e) => {
  drawing = true;
  currentLabel = null;
  showLabel(null);
  dctx.beginPath();
  dctx.moveTo(...pos(e));
});
draw.addEventListener('pointermove', (e) => {
  if (!drawing) return;
  dctx.lineTo(...pos(e));
  dctx.strokeStyle = '#fff';
  dctx.lineWidth = (22 * draw.width) / DRAW_SIZE;
  dctx.lineCap = 'round';
  dctx.lineJoin = 'round';
  dctx.stroke();
  current = fromCanvas();
  classify();
});
window.addEventListener('pointerup', () => (drawing = false));

function fromCanvas() {
  const [h, w, c] = shape;
  const [cw, ch] = [draw.width, draw.height];
  const src = dctx.getImageData(0, 0, cw, ch).data;
  let [x0, y0, x1, y1] = [cw, ch, -1, -1];
  for (let y = 0; y < ch; y++)
    for (let x = 0; x < cw; x++)
      if (src[(y * cw + x) * 4] > 20) [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
  const out = new Float32Array(h * w * c);
  if (x1 < 0) return out;
  const [bw, bh] = [x1 - x0 + 1, y1 - y0 + 1];
  const scale = Math.min((w * 20) / 28 / bw, (h * 20) / 28 / bh);
  const [fw, fh] = [bw * scale, bh * scale];
  const tmp = document.createElement('canvas');
  tmp.width = w;
  tmp.height = h;
  const t = tmp.getContext('2d');
  t.fillStyle = '#000';
  t.fillRect(0, 0, w, h);
  t.drawImage(draw, x0, y0, bw, bh, (w - fw) / 2, (h - fh) / 2, fw, fh);
  const d = t.getImageData(0, 0, w, h).data;
  for (let i = 0; i < h * w; i++) for (let k = 0; k < c; k++) out[i * c + k] = d[i * 4 + (c >= 3 ? Math.min(k, 2) : 0)] / 255;
  return out;
}

function select(s) {
  current = Float32Array.from(s.pixels);
  currentLabel = s.label;
  showLabel(s);
  classify();
}

async function pickSample(index) {
  const gen = generation;
  const start = index ?? Math.floor(Math.random() * meta.total);
  const { samples } = await getJson(`/api/samples?model=${encodeURIComponent(modelName)}&n=1&start=${start}`);
  if (gen !== generation) return;
  paint(draw, samples[0].pixels);
  select(samples[0]);
}

async function loadGallery(start, gen = generation) {
  const { samples } = await getJson(`/api/samples?model=${encodeURIComponent(modelName)}&n=${GALLERY}&start=${start}`);
  if (gen !== generation) return;
  galleryStart = start;
  const thumbs = samples.map((s) => {
    const b = Object.assign(document.createElement('button'), { className: 'thumb', title: `test image #${s.index}: ${className(s.label)}` });
    b.dataset.index = String(s.index);
    b.dataset.label = String(s.label);
    const c = Object.assign(document.createElement('canvas'), { width: shape[1], height: shape[0] });
    paint(c, s.pixels);
    b.append(c, Object.assign(document.createElement('span'), { textContent: className(s.label) }));
    b.addEventListener('click', () => {
      for (const t of $('gallery').querySelectorAll('.thumb.selected')) t.classList.remove('selected');
      b.classList.add('selected');
      select(s);
    });
    return b;
  });
  $('gallery').replaceChildren(...thumbs);
  $('gallery').dataset.start = String(start);
}

function resetAttack() {
  for (const c of [$('adv'), $('delta')]) c.getContext('2d').clearRect(0, 0, c.width, c.height);
  $('adv-prediction').textContent = '–';
  delete $('adv-prediction').dataset.label;
  $('adv-info').textContent = '';
}

async function attack() {
  if (!rt) return;
  const gen = generation;
  const eps = Number($('eps').value);
  const label = currentLabel ?? Number($('prediction').dataset.label);
  const image = current;
  status('attacking on the server (tfjs graph rebuilt from the .bnn)…');
  $('adv-prediction').textContent = '…';
  let out;
  try {
    out = await getJson('/api/attack', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: modelName, pixels: Array.from(image), label, attack: $('attack-kind').value, eps }),
    });
  } catch (e) {
    if (gen === generation) $('adv-prediction').textContent = '–';
    return status(`attack failed: ${e.message}`);
  }
  if (gen !== generation) return;
  const adv = Float32Array.from(out.adversarial);
  const pred = rt.predict(adv, 1)[0];
  paint($('adv'), adv);
  paint($('delta'), adv.map((v, i) => v - image[i]), true, eps);
  $('adv-prediction').textContent = className(pred);
  $('adv-prediction').dataset.label = String(pred);
  $('adv-info').textContent = `(${out.attack.toUpperCase()} ε=${eps.toFixed(2)}, L2 ${out.l2.toFixed(2)}; ${pred === label ? 'the model held' : `flipped from ${className(label)}`})`;
  status('attack replayed on the packed runtime');
}

function resetVerify() {
  $('verify-verdict').textContent = '–';
  delete $('verify-verdict').dataset.verdict;
  $('verify-info').textContent = '';
}

/** Asks the server whether the current image's label is robust at ε; a counterexample is replayed here. */
async function verify() {
  if (!rt) return;
  const gen = generation;
  const eps = Number($('verify-eps').value);
  const label = currentLabel ?? Number($('prediction').dataset.label);
  const image = current;
  status('verifying on the server…');
  $('verify-verdict').textContent = '…';
  let out;
  try {
    out = await getJson('/api/verify', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: modelName, pixels: Array.from(image), label, eps }),
    });
  } catch (e) {
    if (gen === generation) resetVerify();
    return status(`verify failed: ${e.message}`);
  }
  if (gen !== generation) return;
  const time = `${out.ms < 10 ? out.ms.toFixed(1) : Math.round(out.ms)} ms`;
  let text;
  let info;
  if (out.verdict === 'verified') {
    text = `verified robust at ε = ${eps.toFixed(2)}`;
    info = `(proven margin ${out.margin.toFixed(3)}, ${time})`;
  } else if (out.verdict === 'counterexample') {
    const adv = Float32Array.from(out.counterexample ?? []);
    const pred = adv.length ? rt.predict(adv, 1)[0] : null;
    if (adv.length) {
      paint($('adv'), adv);
      paint($('delta'), adv.map((v, i) => v - image[i]), true, eps);
      $('adv-prediction').textContent = className(pred);
      $('adv-prediction').dataset.label = String(pred);
      $('adv-info').textContent = '(the verifier\'s counterexample)';
    }
    text = `not robust at ε = ${eps.toFixed(2)}`;
    info = `(a counterexample within ε: the runtime here says ${pred === null ? '?' : className(pred)}, not ${className(label)}; ${time})`;
  } else if (out.verdict === 'misclassified') {
    text = 'misclassified';
    info = `(the runtime does not give ${className(label)} for this image)`;
  } else {
    text = `unknown at ε = ${eps.toFixed(2)}`;
    info = `(${out.reason === 'timeout' ? 'time limit reached' : 'neither a proof nor a counterexample was found'}; ${time})`;
  }
  $('verify-verdict').textContent = text;
  $('verify-verdict').dataset.verdict = out.verdict;
  $('verify-info').textContent = info;
  status('verified on the server; counterexamples replayed on the packed runtime');
}

const report = (e) => status(`error: ${e.message}`);
$('clear').addEventListener('click', () => {
  clearCanvas();
  current = new Float32Array(pixelsPerImage());
  currentLabel = null;
  showLabel(null);
  classify();
});
$('sample').addEventListener('click', () => pickSample().catch(report));
$('more').addEventListener('click', () => {
  const next = galleryStart + GALLERY < meta.total ? galleryStart + GALLERY : 0;
  loadGallery(next)
    .then(() => $('gallery').querySelector('.thumb')?.click())
    .catch(report);
});
$('attack').addEventListener('click', () => attack().catch(report));
$('verify').addEventListener('click', () => verify().catch(report));
$('verify-eps').addEventListener('input', () => ($('verify-eps-value').textContent = Number($('verify-eps').value).toFixed(2)));
$('eps').addEventListener('input', () => ($('eps-value').textContent = Number($('eps').value).toFixed(2)));
$('model').addEventListener('change', () => loadModel($('model').value).catch(report));

(async () => {
  const manifest = await getJson('/models/manifest.json');
  const params = new URLSearchParams(location.search);
  for (const m of manifest.models) {
    const name = m.file.replace(/\.bnn$/, '');
    const acc = m.testAccuracy?.runtime;
    $('model').append(new Option(`${name} — ${typeof acc === 'number' ? (100 * acc).toFixed(1) + '% clean' : 'untested'}${m.training?.data ? ` (${m.training.data})` : ''}`, name));
  }
  const names = manifest.models.map((m) => m.file.replace(/\.bnn$/, ''));
  const name = params.get('model') ?? (names.includes('c64') ? 'c64' : names[0]);
  if (!name) throw new Error('no models in the manifest');
  $('model').value = name;
  await loadModel(name, params.has('sample') ? Number(params.get('sample')) : undefined);
  document.body.dataset.ready = 'true';
})().catch(report);
