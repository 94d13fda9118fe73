import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { formatVersion, modelFromParams, paramsFromModel, type BnnModel } from '../format/model.js';
import { serializeBnn } from '../format/write.js';
import { loadCheckpoint } from '../train/checkpoint.js';
import { helpText, parseCommand, requirePositional, stringOption, UsageError, type CommandSpec } from './args.js';
import { findModel, openModel } from './files.js';

export const exportCommand: CommandSpec = {
  name: 'export',
  summary: 'Turn a training checkpoint directory into a deployable .bnn file (format 2.0, or 2.1 when it has ternary layers), rewrite a .bnn of any version as the oldest 2.x that holds it (same model, same logits), or export a model as a tfjs LayersModel (model.json + weights, --format tfjs).',
  usage: 'bnn-edge export CHECKPOINT_DIR|MODEL --out MODEL.bnn [--int8 auto|no]  |  bnn-edge export MODEL --format tfjs --out DIR  [--json]',
  options: {
    out: { type: 'string', help: 'output: a .bnn file, or with --format tfjs a directory', metavar: 'PATH' },
    format: { type: 'string', help: 'bnn, or tfjs: a tfjs Layers-format model (tf.loadLayersModel, with bnn-edge\'s layer classes registered: `import \'bnn-edge\'` registers them)', default: 'bnn', metavar: 'bnn|tfjs' },
    int8: { type: 'string', help: 'from a checkpoint: ship float first layers whose output is only binarized as int8 on a u8 image (auto) or keep them float32 (no); from a .bnn, no turns its int8 layers into float32 ones (dequantized weights, the image no longer rounded to u8: logits differ slightly)', default: 'auto', metavar: 'auto|no' },
    json: { type: 'boolean', help: 'print what was written as JSON' },
  },
  details: 'A tfjs export keeps Larq\'s layer and config names (QuantConv2D, input_quantizer, kernel_quantizer, pad_values, …); an int8 first layer also carries bnn-edge\'s `int8: true` and a `weight_scale` weight, which Larq does not know (`--int8 no` exports it as a plain float layer). `bnn-edge import` reads it (or a Larq-style model saved in the tfjs Layers format) back into a .bnn.',
};

export async function runExport(argv: string[]): Promise<number> {
  const p = parseCommand(exportCommand, argv);
  if (p.help) return process.stdout.write(helpText(exportCommand)), 0;
  const [source] = requirePositional(p, exportCommand, 'CHECKPOINT_DIR|MODEL');
  const out = stringOption(p, 'out');
  if (!out) throw new UsageError('--out is required');
  const format = stringOption(p, 'format');
  if (format !== 'bnn' && format !== 'tfjs') throw new UsageError(`--format must be bnn or tfjs, got "${format}"`);
  const int8 = stringOption(p, 'int8');
  if (int8 !== 'auto' && int8 !== 'no') throw new UsageError(`--int8 must be auto or no, got "${int8}"`);
  let model: BnnModel;
  const path = findModel(source!);
  if (existsSync(path) && statSync(path).isDirectory() && existsSync(`${path}/checkpoint.json`)) {
    const ckpt = loadCheckpoint(path);
    model = modelFromParams(ckpt.graph, ckpt.params, { int8: int8 === 'auto' ? 'auto' : false });
  } else {
    if (p.given.has('int8') && int8 !== 'no') throw new UsageError('--int8 auto applies to a checkpoint: a .bnn keeps the int8 layers it has (--int8 no turns them into float32)');
    model = openModel(path).model;
    if (int8 === 'no' && p.given.has('int8')) {
      const { graph, params } = paramsFromModel(model);
      model = modelFromParams(graph, params, { int8: false });
    }
  }
  if (format === 'tfjs') {
    if (existsSync(out) && (!statSync(out).isDirectory() || readdirSync(out).some((f) => f !== 'model.json' && f !== 'model.weights.bin'))) {
      throw new UsageError(`--out ${out}: with --format tfjs, a new or empty directory (or an earlier export) to write model.json and model.weights.bin into`);
    }
    const { initTfjs } = await import('../tfjs/backend.js');
    await initTfjs();
    const { saveLayersModel } = await import('../model/tfjs/interchange.js');
    const written = await saveLayersModel(model, out);
    const sizes = { modelJson: statSync(written.modelJson).size, weights: statSync(written.weights).size };
    if (p.values['json']) return process.stdout.write(JSON.stringify({ ...written, bytes: sizes, model: model.graph.name, format: 'tfjs layers-model' }, null, 2) + '\n'), 0;
    process.stdout.write(`wrote ${written.modelJson} (${sizes.modelJson} bytes) and ${written.weights} (${sizes.weights} bytes): model ${model.graph.name} as a tfjs LayersModel\n`);
    return 0;
  }
  const bytes = serializeBnn(model);
  writeFileSync(out, bytes);
  const v = formatVersion(model.graph);
  if (p.values['json']) return process.stdout.write(JSON.stringify({ path: out, bytes: bytes.length, model: model.graph.name, format: `${v.major}.${v.minor}` }, null, 2) + '\n'), 0;
  process.stdout.write(`wrote ${out} (${bytes.length} bytes, model ${model.graph.name}, format ${v.major}.${v.minor})\n`);
  return 0;
}
