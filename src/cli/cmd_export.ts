import { writeFileSync } from 'node:fs';
import { modelFromParams } from '../format/model.js';
import { serializeBnn } from '../format/write.js';
import { loadCheckpoint } from '../train/checkpoint.js';
import { helpText, parseCommand, requirePositional, stringOption, UsageError, type CommandSpec } from './args.js';

export const exportCommand: CommandSpec = {
  name: 'export',
  summary: 'Turn a training checkpoint directory into a deployable .bnn file.',
  usage: 'bnn-edge export CHECKPOINT_DIR --out MODEL.bnn',
  options: { out: { type: 'string', help: 'output .bnn file', metavar: 'FILE' } },
};

export async function runExport(argv: string[]): Promise<number> {
  const p = parseCommand(exportCommand, argv);
  if (p.help) return process.stdout.write(helpText(exportCommand)), 0;
  const [dir] = requirePositional(p, exportCommand, 'CHECKPOINT_DIR');
  const out = stringOption(p, 'out');
  if (!out) throw new UsageError('--out FILE is required');
  const ckpt = loadCheckpoint(dir!);
  const bytes = serializeBnn(modelFromParams(ckpt.spec, ckpt.params));
  writeFileSync(out, bytes);
  process.stdout.write(`wrote ${out} (${bytes.length} bytes, ${ckpt.spec.arch}-${ckpt.spec.k})\n`);
  return 0;
}
