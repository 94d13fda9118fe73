import { writeFileSync } from 'node:fs';
import { formatVersion } from '../format/model.js';
import { parseBnn } from '../format/read.js';
import { serializeBnn } from '../format/write.js';
import { helpText, parseCommand, requirePositional, stringOption, UsageError, type CommandSpec } from './args.js';

export const importCommand: CommandSpec = {
  name: 'import',
  summary: "Read a tfjs LayersModel (model.json + weights) built from bnn-edge's / Larq's quantised layers and standard tfjs layers into a .bnn file.",
  usage: 'bnn-edge import MODEL_DIR|model.json --out MODEL.bnn [--name NAME] [--int8 keep|auto|no] [--approximate-quantizers] [--json]',
  options: {
    out: { type: 'string', help: 'output .bnn file', metavar: 'FILE' },
    name: { type: 'string', help: "the model's name (default: the LayersModel's)", metavar: 'NAME' },
    int8: { type: 'string', help: 'keep: float first layers exported as int8 ship as int8 again (exact); auto: every eligible first layer as int8; no: float32', default: 'keep', metavar: 'keep|auto|no' },
    'approximate-quantizers': { type: 'boolean', help: "accept Larq's ApproxSign / SwishSign / SteSign(clip≠1) as ste_sign (same forward pass, so the same .bnn; bnn-edge trains them with its own gradient)" },
    json: { type: 'boolean', help: 'print what was written as JSON' },
  },
  details: 'Layers understood: QuantConv2D, QuantDense (Larq\'s config keys: input_quantizer, kernel_quantizer, pad_values, use_bias, …), Conv2D, Dense, BatchNormalization, ReLU / Activation, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Add, Flatten, Reshape, Dropout, Scale (bnn-edge\'s); a final softmax (an Activation layer or a Dense layer\'s activation) is dropped (the .bnn outputs logits). Anything else is refused, naming the layer.',
};

export async function runImport(argv: string[]): Promise<number> {
  const p = parseCommand(importCommand, argv);
  if (p.help) return process.stdout.write(helpText(importCommand)), 0;
  const [source] = requirePositional(p, importCommand, 'MODEL_DIR|model.json');
  const out = stringOption(p, 'out');
  if (!out) throw new UsageError('--out FILE is required');
  const int8 = stringOption(p, 'int8');
  if (int8 !== 'keep' && int8 !== 'auto' && int8 !== 'no') throw new UsageError(`--int8 must be keep, auto or no, got "${int8}"`);
  const { initTfjs } = await import('../tfjs/backend.js');
  await initTfjs();
  const { importLayersModel } = await import('../model/tfjs/interchange.js');
  const name = stringOption(p, 'name');
  const model = await importLayersModel(source!, {
    ...(name !== undefined ? { name } : {}),
    int8: int8 === 'no' ? false : int8,
    approximateQuantizers: Boolean(p.values['approximate-quantizers']),
  });
  const bytes = serializeBnn(model);
  // What is written must read back: the reader's checks are the format's definition.
  parseBnn(bytes, { source: out });
  writeFileSync(out, bytes);
  const v = formatVersion(model.graph);
  if (p.values['json']) return process.stdout.write(JSON.stringify({ path: out, bytes: bytes.length, model: model.graph.name, layers: model.graph.layers.length, format: `${v.major}.${v.minor}` }, null, 2) + '\n'), 0;
  process.stdout.write(`wrote ${out} (${bytes.length} bytes): ${model.graph.name}, ${model.graph.layers.length} layers ("bnn-edge info ${out}" shows them)\n`);
  return 0;
}
