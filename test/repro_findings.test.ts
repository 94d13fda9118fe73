/**
 * The reproduction's verdict: each explanation of a gap is labelled Tested (naming the experiment
 * and its result) or Hypothesis, computed from results; `--compare` sets two runs' cells side by side.
 * Rendered from hand-made results with figures whose band counts are worked out by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadData } from '../src/data/index.js';
import type { WhiteboxReport, WhiteboxRow } from '../src/eval/attacks.js';
import { compareCells, paperCells } from '../src/eval/repro_compare.js';
import { Repro, type ReproConfig, type ReproResults } from '../src/eval/repro.js';

/** Only what the FGSM tables read of a report: clean accuracy and accuracy at ε 0.1 / 0.2 / 0.3. */
function fgsm(clean: number, acc: [number, number, number]): WhiteboxReport {
  return { model: 'x', attack: 'fgsm', loss: 'ce', images: 1000, cleanRuntimeAccuracy: clean, rows: acc.map((a, i) => ({ eps: (i + 1) / 10, runtimeAccuracy: a })) } as unknown as WhiteboxReport;
}

/** Runs `fn` in a fresh temporary directory, removed afterwards whatever happens. */
function inTempDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-findings-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function config(dir: string, extra: Partial<ReproConfig> = {}): ReproConfig {
  return {
    widths: [64],
    seeds: 1,
    epochs: 15,
    adv: { seeds: 1, epochs: 15, cleanEpochs: 5, steps: 40, step: 0.01, eps: 0.3 },
    attackImages: 1000,
    cwImages: 500,
    blackboxImages: 1850,
    hsjImages: 20,
    hsjQueries: 5000,
    dir: join(dir, 'runs'),
    out: join(dir, 'HERE.md'),
    log: () => {},
    ...extra,
  };
}

// The paper's K = 64 FGSM figures (ε 0.1 / 0.2 / 0.3): A 74±4, 39±4, 22±5; B 75±2, 64±3, 59±2; C 56±7, 27±5, 15±3.
const far: ReproResults = { 'fgsm:A64-s1': fgsm(0.98, [0.3, 0.05, 0.01]), 'fgsm:B64-s1': fgsm(0.9, [0.3, 0.15, 0.1]), 'fgsm:C64-s1': fgsm(0.93, [0.2, 0.05, 0.03]) };
const near: ReproResults = { 'fgsm:A64-s1': fgsm(0.99, [0.74, 0.39, 0.22]), 'fgsm:B64-s1': fgsm(0.97, [0.75, 0.64, 0.3]), 'fgsm:C64-s1': fgsm(0.98, [0.56, 0.27, 0.15]) };

test('paperCells / compareCells: the same cells counted against the paper in two sets of results', () => {
  const cells = paperCells([64], 1);
  // A, B, C × 3 ε; A+*, C+* × 3 ε; CW B, B+, S; black-box A, A+, A+*, B, B+.
  assert.deepEqual(
    ['fgsm', 'fgsm-adv', 'cw', 'blackbox'].map((t) => cells.filter((c) => c.table === t).length),
    [9, 6, 3, 5],
  );
  const [x] = compareCells({ cells, results: near }, { cells, results: far });
  assert.equal(x!.table, 'fgsm');
  // near: every cell on the paper's figure but B ε=0.3 (30 against 59 ± 2: outside 2·2 + 2 points).
  assert.deepEqual([x!.ours.cells, x!.ours.inBand, x!.other.inBand], [9, 8, 0]);
  assert.ok(Math.abs(x!.ours.meanDistance - 29 / 9) < 1e-9, String(x!.ours.meanDistance));
  assert.ok(Math.abs(x!.ours.meanDiff + 29 / 9) < 1e-9);
  // Only cells both measured count: drop C from one side and its three cells go from both.
  const { ['fgsm:C64-s1']: _, ...noC } = far;
  const [y] = compareCells({ cells, results: near }, { cells, results: noC });
  assert.equal(y!.ours.cells, 6);
  assert.equal(y!.other.cells, 6);
});

test('repro verdict: an explanation is Tested only where an experiment ran, with --compare naming the other run and its result', () => {
  inTempDir((dir) => {
  const data = loadData();
  const write = (name: string, settings: object, results: ReproResults) => writeFileSync(join(dir, name), JSON.stringify({ settings, results }));
  const here = new Repro(config(dir), data);
  write('HERE.json', here.settings, far);
  write('THERE.json', { ...here.settings, data: 'mnist-full', trainImages: 58000 }, near);

  new Repro(config(dir), data).render();
  const alone = readFileSync(join(dir, 'HERE.md'), 'utf8');
  // No experiment tests either explanation of the FGSM gap yet: both are hypotheses.
  assert.match(alone, /- \*\*Hypothesis\*\* \(no experiment here tests it\)\. Our FGSM is stronger/);
  assert.match(alone, /- \*\*Hypothesis\*\* \(no experiment here tests it\)\. Training data: our models trained on 8,000 images/);
  assert.ok(!alone.includes('beside THERE'), 'no comparison section without --compare');

  const compared = new Repro(config(dir, { compare: join(dir, 'THERE.md') }), data);
  compared.render();
  const doc = readFileSync(join(dir, 'HERE.md'), 'utf8');
  const line = doc.split('\n').find((l) => l.includes('Training data: our models trained on 8,000 images'));
  assert.ok(line && line.startsWith('- **Tested.**'), line);
  // Hand-counted: 0 of 9 here, 8 of 9 there; mean distance here (in points) is the sum of |ours − paper| over 9.
  const distHere = (44 + 34 + 21 + 45 + 49 + 49 + 36 + 22 + 12) / 9;
  assert.ok(line.includes(`in the paper's band 0 of 9 cells here against 8 of 9 there`), line);
  // The gain is the difference of the two distances as printed (3.2 there, 34.7 here), so a reader's subtraction checks.
  assert.ok(line.includes(`By mean distance (${(29 / 9).toFixed(1)} against ${distHere.toFixed(1)})`), line);
  assert.ok(line.includes(`the run on more images is ${(Number(distHere.toFixed(1)) - Number((29 / 9).toFixed(1))).toFixed(1)} points closer to the paper`), line);
  assert.match(doc, /## This run beside \S*THERE\.json: what the training data changed/);
  assert.match(doc, /\| white-box FGSM \| 9 \| 0 \| 8 \|/);
  assert.match(doc, /\| B64-s1 \| 90\.0 \| 97\.0 \| 10\.0 \| 30\.0 \| — \|/);
  // A cache other than the default is named, so the command resumes this run, not another.
  assert.match(doc, /Regenerate with: `bnn-edge repro .* --compare \S*THERE\.md --dir \S*runs --out/);
  // Still untested: the other explanation of the same table.
  assert.match(doc, /- \*\*Hypothesis\*\* \(no experiment here tests it\)\. Our FGSM is stronger/);
  assert.throws(() => new Repro(config(dir, { compare: join(dir, 'NONE.md') }), data), /--compare .*NONE\.md: no results file at .*NONE\.json/);
  });
});

test('plateauChart: one curve per run that has the member, none when no run has it', async () => {
  const { plateauChart } = await import('../src/eval/plateau.js');
  const row = (attack: string, curve: [number, number][]) => ({ members: [{ attack, attacked: 10, curve }] }) as unknown as WhiteboxRow;
  const runs = [
    { name: 'A+*64', row: row('apgd-ce', [[1, 0.9], [50, 0.6], [101, 0.55]]) },
    { name: 'R+*64', row: row('square', [[1, 0.9], [5000, 0.8]]) },
  ];
  const svg = plateauChart('apgd-ce', 0.3, runs);
  assert.ok(svg !== null && svg.startsWith('<svg'), svg ?? 'null');
  assert.ok(svg.includes('A+*64 apgd-ce') && !svg.includes('R+*64'), 'only the run that has the member is drawn');
  assert.ok(svg.includes('forward passes per image'), 'the x axis names the budget unit');
  assert.equal(plateauChart('apgd-t', 0.3, runs), null);
});

test('repro verdict: the data explanation reads its test either way round, and a float32 FGSM test names the models it explains', () => {
  inTempDir((dir) => {
  const data = loadData();
  const here = new Repro(config(dir), data);
  const write = (name: string, settings: object, results: ReproResults) => writeFileSync(join(dir, name), JSON.stringify({ settings, results }));
  const line = (start: string) => readFileSync(join(dir, 'HERE.md'), 'utf8').split('\n').find((l) => l.includes(start)) ?? '';
  const render = () => new Repro(config(dir, { compare: join(dir, 'THERE.json') }), data).render();

  // The other run trained on more images yet lands further from the paper: data does not explain the gap.
  write('HERE.json', here.settings, near);
  write('THERE.json', { ...here.settings, data: 'mnist-full', trainImages: 58000, adv: { ...here.settings.adv, steps: 10 } }, far);
  render();
  assert.match(line('Training data:'), /^- \*\*Tested\.\*\* .*the run on more images is not closer to the paper by more than a point: training data does not explain this gap\./);
  assert.match(line('Training data:'), /that run also differs in --adv-steps 10 \(this run: 40\)/);
  // This run on more images than the other, and closer: read from this side.
  write('THERE.json', { ...here.settings, trainImages: 2000 }, far);
  render();
  assert.match(line('Training data:'), /in the paper's band 8 of 9 cells here against 0 of 9 there.*the run on more images is [0-9.]+ points closer to the paper: training data explains that much of the gap of the run on fewer images; this run's own remaining gap/);
  // Mixed: the run on more images has more cells in the band (6 of 9: A and B at ε 0.1 far off, B at
  // 0.3 29 points off) yet a larger mean distance ((74 + 75 + 29) / 9 = 19.8) than one 17 points off everywhere.
  const offBy17 = { 'fgsm:A64-s1': fgsm(0.98, [0.57, 0.22, 0.05]), 'fgsm:B64-s1': fgsm(0.97, [0.58, 0.47, 0.42]), 'fgsm:C64-s1': fgsm(0.97, [0.39, 0.1, 0.32]) };
  const mixed = { ...near, 'fgsm:A64-s1': fgsm(0.99, [0, 0.39, 0.22]), 'fgsm:B64-s1': fgsm(0.97, [0, 0.64, 0.3]) };
  write('HERE.json', here.settings, offBy17);
  write('THERE.json', { ...here.settings, data: 'mnist-full', trainImages: 58000 }, mixed);
  render();
  assert.ok(
    line('Training data:').includes('By mean distance (19.8 against 17.0) the run on more images is not closer to the paper by more than a point, though more of its cells fall in the band (6 of 9 against 0 of 9): training data moves some cells toward the paper and others away, and does not explain this gap as a whole.'),
    line('Training data:'),
  );

  // FGSM on float32 cross-entropy (the stronger-attack table) before the paper-numerics tables ran:
  // B64 moves from 10% to 50% (paper 59 ± 2), A64 from 1% to 80% (paper 22 ± 5), C64 from 3% to 5% (paper 15 ± 3).
  const f32 = (acc: number) => ({ model: 'x', attack: 'fgsm', loss: 'ce-float32', images: 1000, cleanRuntimeAccuracy: 0.9, rows: [{ eps: 0.3, runtimeAccuracy: acc }] }) as unknown as WhiteboxReport;
  write('HERE.json', here.settings, { ...far, 'fgsm-f32:A64-s1': f32(0.8), 'fgsm-f32:B64-s1': f32(0.5), 'fgsm-f32:C64-s1': f32(0.05) });
  new Repro(config(dir), data).render();
  const numerics = line("Our FGSM is stronger than the paper's: it ascends");
  assert.match(numerics, /^- \*\*Tested\.\*\* /, numerics);
  assert.ok(numerics.includes('this tests the float32 half of the explanation only'), numerics);
  // Per model, the share of its distance to the paper the float32 numerics close (A64 overshoots the paper's 22%).
  assert.ok(numerics.includes('with our numerics → the paper\'s: A64 21.0 → 58.0, B64 49.0 → 9.0, C64 12.0 → 10.0 points. Float32 alone closes the gap of B64 (82% of it), C64 (17% of it); A64 moves further from the paper. The own-label half is untested'), numerics);
  });
});

test('repro: robust accuracy against ε from the ensemble evaluations, a row and a point per model measured', () => {
  inTempDir((dir) => {
  const data = loadData();
  const here = new Repro(config(dir), data);
  const planned = here.plan().map((t) => t.id);
  for (const id of ['auto:A64-s1', 'auto-eps0.05:S64-s1', 'auto-eps0.2:C64-s1', 'auto:R+*64-s1']) assert.ok(planned.includes(id), id);
  assert.ok(!planned.some((id) => id.startsWith('auto-eps') && id.includes('+')), 'the ε curve is of the clean models only');
  const auto = (acc: number) => ({ model: 'x', attack: 'auto', loss: 'ce', images: 1000, cleanRuntimeAccuracy: 0.98, rows: [{ eps: 0.1, runtimeAccuracy: acc, members: [] }] }) as unknown as WhiteboxReport;
  writeFileSync(join(dir, 'HERE.json'), JSON.stringify({ settings: here.settings, results: { 'auto-eps0.1:A64-s1': auto(0.4), 'auto:A64-s1': auto(0) } }));
  new Repro(config(dir), data).render();
  const doc = readFileSync(join(dir, 'HERE.md'), 'utf8');
  // ± one standard error: √(0.4 · 0.6 / 1000) = 1.5 points.
  assert.match(doc, /\| A64 \| 98\.0 \| — \| 40\.0 ± 1\.5 \| — \| 0\.0 ± 0\.0 \|/);
  assert.ok(!/\| B64 \| /.test(doc.slice(doc.indexOf('### Robust accuracy against ε'))), 'a model with no ensemble result has no row');
  assert.ok(readFileSync(join(dir, 'repro-HERE-robust-eps.svg'), 'utf8').includes('A64'));
  });
});

test('repro verdict: what the paper-numerics FGSM still leaves outside the band is listed as unexplained', () => {
  inTempDir((dir) => {
  const data = loadData();
  const here = new Repro(config(dir), data);
  const paperNumerics = Object.fromEntries(Object.entries(near).map(([id, r]) => [id.replace(/^fgsm:/, 'fgsm-paper:'), r]));
  writeFileSync(join(dir, 'HERE.json'), JSON.stringify({ settings: here.settings, results: { ...far, ...paperNumerics } }));
  new Repro(config(dir), data).render();
  const doc = readFileSync(join(dir, 'HERE.md'), 'utf8');
  assert.ok(doc.includes("- **Unexplained.** With the paper's numerics 1 of 9 measured cells are still outside the paper's band (B64 ε=0.3 30.0 (paper 59 ± 2)): no experiment here accounts for that gap."), doc);
  // The numerics test now runs on the paper-numerics tables: 8 of 9 in band with them, 0 of 9 with ours.
  assert.match(doc, /- \*\*Tested\.\*\* Our FGSM is stronger .*in the paper's band 8 of 9 cells with the paper's numerics against 0 of 9 with ours.*The paper's numerics close the gap of A64 \(nearly all of it\), B64 \(\d+% of it\), C64 \(nearly all of it\)\./);
  });
});

test('repro verdict: a figure no ensemble has checked is an upper bound, and float32 saturation is credited only with the images it covers', () => {
  inTempDir((dir) => {
  const data = loadData();
  const here = new Repro(config(dir), data);
  // PGD reports: clean accuracy, then ε 0.1 and 0.3 (the stronger-attack table reads rows[1]).
  const pgd = (acc: number) => ({ model: 'x', attack: 'pgd', loss: 'ce', images: 500, cleanRuntimeAccuracy: 0.99, rows: [{ eps: 0.1, runtimeAccuracy: 0.95 }, { eps: 0.3, runtimeAccuracy: acc }] }) as unknown as WhiteboxReport;
  const withSaturation = (r: WhiteboxReport, saturatedFraction: number) => ({ ...r, saturatedFraction }) as WhiteboxReport;
  const f32 = (acc: number) => ({ model: 'x', attack: 'fgsm', loss: 'ce-float32', images: 1000, cleanRuntimeAccuracy: 0.9, rows: [{ eps: 0.3, runtimeAccuracy: acc }] }) as unknown as WhiteboxReport;
  const auto = (acc: number) => ({ model: 'x', attack: 'auto', loss: 'ce', images: 1000, cleanRuntimeAccuracy: 0.99, rows: [{ eps: 0.3, runtimeAccuracy: acc, members: [] }] }) as unknown as WhiteboxReport;
  const results: ReproResults = {
    ...far,
    // A64: FGSM f32 leaves 76% where the exact direction leaves 1%, and 75% of the images saturate: saturation covers the gap.
    'fgsm:A64-s1': withSaturation(far['fgsm:A64-s1'] as WhiteboxReport, 0.75),
    'fgsm-f32:A64-s1': f32(0.76),
    'pgd:A64-s1': pgd(0),
    // B64: 50% against 10% with only 5% saturated: most of the gap is not saturation.
    'fgsm:B64-s1': withSaturation(far['fgsm:B64-s1'] as WhiteboxReport, 0.05),
    'fgsm-f32:B64-s1': f32(0.5),
    'pgd:B64-s1': pgd(0),
    'auto:B64-s1': auto(0),
    'pgd:A+*64-s1': pgd(0.69),
    // S64: CW fooled every draw it crafted against, yet fresh draws leave ~70%; PGD gets through.
    'pgd:S64-s1': pgd(0.02),
    'cw-paper:S64-s1': { model: 'x', attack: 'cw', loss: 'ce', images: 500, cleanRuntimeAccuracy: 0.93, rows: [{ eps: null, successRate: 1, tfjsAccuracy: 0.72, runtimeAccuracy: 0.7, meanL2: 2.1 }] } as unknown as WhiteboxReport,
  };
  writeFileSync(join(dir, 'HERE.json'), JSON.stringify({ settings: here.settings, results }));
  new Repro(config(dir), data).render();
  const doc = readFileSync(join(dir, 'HERE.md'), 'utf8');
  assert.ok(doc.includes('A64: FGSM on float32 cross-entropy (the paper\'s loss, true labels) leaves 76.0% where the same attack computed exactly leaves 1.0%; the 75.0% of images whose float32 softmax rounds p(label) to 1 could account for the difference'), doc);
  assert.ok(doc.includes('B64: FGSM on float32 cross-entropy (the paper\'s loss, true labels) leaves 50.0% where the same attack computed exactly leaves 10.0%. Only 5.0% of the images have a float32 softmax that rounds p(label) to exactly 1, which accounts for at most 5.0 of the 40.0 points'), doc);
  // A+* has only PGD-40: its 69% is an upper bound wherever it is quoted; B64's 0% under the ensemble is not.
  assert.ok(doc.includes('PGD adversarial training gives A+* at most 69.0%'), doc);
  assert.ok(doc.includes("AutoAttack's ensemble has not run on S, A+* yet, so their figures are upper bounds"), doc);
  assert.ok(doc.includes('A+* keeps at most 69.0% (40-step PGD; AutoAttack has not run on it yet)'), doc);
  assert.ok(doc.includes('the binarized B 0.0%'), doc);
  assert.ok(doc.includes("S64: the paper's CW leaves 70.0% on the runtime, yet the worst L∞ attack leaves 2.0%: CW fooled the draws of S's weights it crafted against on 100.0% of the images, yet fresh draws leave 72.0% (tfjs) and 70.0% (runtime)"), doc);
  assert.ok(doc.includes('- **Unexplained.** CW\'s accuracy on S64 70.0 (paper 71 ± 2)') === false, 'S64 CW is inside the paper\'s band');
  });
});

test('repro verdict: the bias control is provisional while it rests on PGD-40 upper bounds; Square\'s share is of the images the gradient attacks left', () => {
  inTempDir((dir) => {
    const data = loadData();
    const here = new Repro(config(dir), data);
    const pgd = (acc: number) => ({ model: 'x', attack: 'pgd', loss: 'ce', images: 1000, cleanRuntimeAccuracy: 0.99, rows: [{ eps: 0.1, runtimeAccuracy: 0.95 }, { eps: 0.3, runtimeAccuracy: acc }] }) as unknown as WhiteboxReport;
    const auto = (members: { attack: string; runtimeAccuracy: number }[]) =>
      ({ model: 'x', attack: 'auto', loss: 'ce', images: 1000, cleanRuntimeAccuracy: 0.99, rows: [{ eps: 0.3, runtimeAccuracy: members.at(-1)!.runtimeAccuracy, members }] }) as unknown as WhiteboxReport;
    const render = (results: ReproResults) => {
      writeFileSync(join(dir, 'HERE.json'), JSON.stringify({ settings: here.settings, results }));
      new Repro(config(dir), data).render();
      return readFileSync(join(dir, 'HERE.md'), 'utf8').split('\n').find((l) => l.includes('A has no biases')) ?? '';
    };
    // PGD-40 only: R+* 94% above the 85% target, A+* 69% below it; an upper bound cannot show R+* reaches it.
    const bounded = render({ 'pgd:A+*64-s1': pgd(0.69), 'pgd:R+*64-s1': pgd(0.94) });
    assert.match(bounded, /^- \*\*Tested, provisionally\*\* \(both figures are 40-step PGD upper bounds/, bounded);
    assert.ok(bounded.includes('an upper bound cannot show that R+* reaches it'), bounded);
    assert.ok(!bounded.includes('not its training, cap its robustness'), bounded);
    // Under the ensemble on both, the same reading is stated as found. On A+*, APGD-CE leaves 50% and Square 40%:
    // Square took 10 points, a fifth of the images still standing.
    const ensemble = render({
      'pgd:A+*64-s1': pgd(0.69),
      'pgd:R+*64-s1': pgd(0.94),
      'auto:A+*64-s1': auto([{ attack: 'apgd-ce', runtimeAccuracy: 0.5 }, { attack: 'square', runtimeAccuracy: 0.4 }]),
      'auto:R+*64-s1': auto([{ attack: 'apgd-ce', runtimeAccuracy: 0.9 }]),
    });
    assert.match(ensemble, /^- \*\*Tested\.\*\* .*under AutoAttack's ensemble at ε = 0\.3 R\+\* keeps 90\.0% where A\+\* keeps 40\.0%.*A's missing biases, not its training, cap its robustness\./, ensemble);
    const doc = readFileSync(join(dir, 'HERE.md'), 'utf8');
    assert.ok(doc.includes('took 10.0 more points off the worst case: it fooled 20.0% of the images (50.0% of the set) that every gradient attack before it'), doc);
  });
});

test('repro at a glance: band counts with our attacks and the paper\'s numerics, the ensemble beside PGD-40, and images per evaluation', () => {
  inTempDir((dir) => {
    const data = loadData();
    const here = new Repro(config(dir), data);
    const paperNumerics = Object.fromEntries(Object.entries(near).map(([id, r]) => [id.replace(/^fgsm:/, 'fgsm-paper:'), r]));
    const pgd = { model: 'x', attack: 'pgd', loss: 'ce', images: 1000, cleanRuntimeAccuracy: 0.99, rows: [{ eps: 0.1, runtimeAccuracy: 0.9 }, { eps: 0.3, runtimeAccuracy: 0.7 }] } as unknown as WhiteboxReport;
    const square = { attack: 'square', queries: { total: 5000, maxPerImage: 5000, perSecond: 1234.4 } };
    const auto = { model: 'x', attack: 'auto', loss: 'ce', images: 1000, cleanRuntimeAccuracy: 0.99, rows: [{ eps: 0.3, runtimeAccuracy: 0.25, members: [square] }] } as unknown as WhiteboxReport;
    const hsj = { model: 'x', images: 20 };
    writeFileSync(join(dir, 'HERE.json'), JSON.stringify({ settings: here.settings, results: { ...far, ...paperNumerics, 'pgd:A+*64-s1': pgd, 'auto:A+*64-s1': auto, 'hsj:A64-s1': hsj } }));
    new Repro(config(dir), data).render();
    const doc = readFileSync(join(dir, 'HERE.md'), 'utf8');
    const glance = doc.slice(doc.indexOf('## At a glance'), doc.indexOf('## White-box FGSM'));
    // far: 0 of 9 FGSM cells in band; near (as the paper's numerics): 8 of 9. No FGSM-adv cell measured.
    assert.match(glance, /\| white-box FGSM \| 0 of 9 \| 8 of 9 \|/);
    assert.match(glance, /\| PGD-trained models under FGSM \| — \(6 in all\) \| — \(6 in all\) \|/);
    assert.match(glance, /\| A\+\*64-s1 \| 1,000 \| 25\.0 \| 70\.0 \| 45\.0 \| 1,234 \|/);
    assert.match(glance, /\| fgsm \| 3 \| 1,000 \|  \|/);
    assert.match(glance, /\| hsj \| 1 \| 20 \| label-only HopSkipJump/);
    // The sections state the same counts as the glance (one count per table).
    const section = (title: string) => doc.slice(doc.indexOf(title), doc.indexOf('\n## ', doc.indexOf(title) + 1));
    assert.match(section('## White-box FGSM'), /\n0 of 9 cells fall within the paper's band/);
    assert.match(section("### The same, with the paper's numerics"), /\n8 of 9 cells fall within the paper's band/);
  });
});
