import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { testDataOf } from '../data/index.js';
import { evaluateParity } from '../eval/parity.js';
import { readManifest, sha256, writeManifest, type ManifestEntry } from '../format/manifest.js';
import { readModelFile } from '../format/file.js';
import { graphToJson } from '../model/graph.js';
import { loadCheckpoint } from '../train/checkpoint.js';
import { helpText, parseCommand, requirePositional, stringOption, type CommandSpec } from './args.js';
import { localModels } from './files.js';
import { pct } from './format.js';

export const shipCommand: CommandSpec = {
  name: 'ship',
  summary: 'Copy a trained run (from `train --out DIR`) into ./models (or --models DIR) as NAME.bnn, measure it, and record it in models/manifest.json.',
  usage: 'bnn-edge ship RUN_DIR [--name NAME] [--models DIR] [--json]',
  options: {
    name: { type: 'string', help: "file name without .bnn (default: the model graph's name, e.g. b64)", metavar: 'NAME' },
    models: { type: 'string', help: 'models directory (default: ./models of the working directory)', metavar: 'DIR' },
    json: { type: 'boolean', help: 'print the manifest entry written, as JSON' },
  },
};

export async function runShip(argv: string[]): Promise<number> {
  const p = parseCommand(shipCommand, argv);
  if (p.help) return process.stdout.write(helpText(shipCommand)), 0;
  const [run] = requirePositional(p, shipCommand, 'RUN_DIR');
  const dir = stringOption(p, 'models') ?? localModels();
  const ckpt = loadCheckpoint(run!);
  const name = stringOption(p, 'name') ?? ckpt.graph.name;
  const src = join(run!, 'model.bnn');
  const { bytes, model } = readModelFile(src);
  const r = await evaluateParity(name, model, testDataOf(ckpt.training.data));
  mkdirSync(dir, { recursive: true });
  copyFileSync(src, join(dir, `${name}.bnn`));
  const t = ckpt.training;
  const entry: ManifestEntry = {
    file: `${name}.bnn`,
    graph: graphToJson(model.graph),
    bytes: bytes.length,
    sha256: sha256(bytes),
    training: {
      command: t.command,
      seed: t.seed,
      epochs: t.epochs,
      batchSize: t.batchSize,
      learningRate: t.learningRate,
      lrSchedule: t.lrSchedule,
      augmentShift: t.augmentShift,
      ...(t.weightClip ? { weightClip: true } : {}),
      ...(t.l1 ? { l1: t.l1 } : {}),
      ...(t.preciseBn ? { preciseBn: t.preciseBn } : {}),
      ...(t.cardinalityBoundDecay ? { cardinalityBoundDecay: t.cardinalityBoundDecay } : {}),
      adversarial: t.adversarial,
      data: t.data,
      trainImages: t.trainImages,
      secondsPerEpoch: ckpt.history.reduce((a, h) => a + h.seconds, 0) / ckpt.history.length,
      ...(t.init ? { init: t.init } : {}),
    },
    testAccuracy: { checkpoint: ckpt.testAccuracy, tfjs: r.tfjsAccuracy, runtime: r.runtimeAccuracy, agreement: r.agreement },
  };
  const manifest = readManifest(dir);
  writeManifest(dir, { ...manifest, models: [...manifest.models.filter((m) => m.file !== entry.file), entry] });
  if (p.values['json']) process.stdout.write(JSON.stringify({ path: join(dir, entry.file), ...entry }, null, 2) + '\n');
  else process.stdout.write(`shipped ${join(dir, entry.file)}: tfjs ${pct(r.tfjsAccuracy)}, runtime ${pct(r.runtimeAccuracy)}, agreement ${pct(r.agreement)}\n`);
  return 0;
}
