import { existsSync, statSync, writeFileSync } from 'node:fs';
import { readModelFile } from '../format/file.js';
import { modelFromParams, type BnnModel } from '../format/model.js';
import { serializeBnn } from '../format/write.js';
import { loadCheckpoint } from '../train/checkpoint.js';
import { helpText, parseCommand, requirePositional, stringOption, UsageError, type CommandSpec } from './args.js';

export const exportCommand: CommandSpec = {
  name: 'export',
  summary: 'Turn a training checkpoint directory into a deployable .bnn file (format 2.0); given a .bnn of any version, rewrite it as 2.0 (same model, same logits).',
  usage: 'bnn-edge export CHECKPOINT_DIR|MODEL.bnn --out MODEL.bnn [--int8 auto|no]',
  options: {
    out: { type: 'string', help: 'output .bnn file', metavar: 'FILE' },
    int8: { type: 'string', help: 'from a checkpoint: ship float first layers whose output is only binarized as int8 on a u8 image (auto) or keep them float32 (no)', default: 'auto', metavar: 'auto|no' },
  },
};

export async function runExport(argv: string[]): Promise<number> {
  const p = parseCommand(exportCommand, argv);
  if (p.help) return process.stdout.write(helpText(exportCommand)), 0;
  const [dir] = requirePositional(p, exportCommand, 'CHECKPOINT_DIR');
  const out = stringOption(p, 'out');
  if (!out) throw new UsageError('--out FILE is required');
  const int8 = stringOption(p, 'int8');
  if (int8 !== 'auto' && int8 !== 'no') throw new UsageError(`--int8 must be auto or no, got "${int8}"`);
  let model: BnnModel;
  if (existsSync(dir!) && statSync(dir!).isFile()) {
    if (p.given.has('int8')) throw new UsageError('--int8 applies to a checkpoint; a .bnn is rewritten as it is');
    model = readModelFile(dir!).model;
  } else {
    const ckpt = loadCheckpoint(dir!);
    model = modelFromParams(ckpt.graph, ckpt.params, { int8: int8 === 'auto' ? 'auto' : false });
  }
  const bytes = serializeBnn(model);
  writeFileSync(out, bytes);
  process.stdout.write(`wrote ${out} (${bytes.length} bytes, model ${model.graph.name}, format 2.0)\n`);
  return 0;
}
