import { describeModel } from '../format/info.js';
import { readModelFile } from '../format/file.js';
import { helpText, parseCommand, requirePositional, type CommandSpec } from './args.js';
import { bytes, table } from './format.js';

export const infoCommand: CommandSpec = {
  name: 'info',
  summary: 'Show a .bnn model: layers, shapes, bytes per layer, and total size against float32.',
  usage: 'bnn-edge info MODEL.bnn|RUN_DIR [--json]',
  options: { json: { type: 'boolean', help: 'print JSON' } },
};

export async function runInfo(argv: string[]): Promise<number> {
  const p = parseCommand(infoCommand, argv);
  if (p.help) return process.stdout.write(helpText(infoCommand)), 0;
  const [path] = requirePositional(p, infoCommand, 'MODEL.bnn|RUN_DIR');
  const { bytes: file, model } = readModelFile(path!);
  const info = describeModel(model, file.length);
  if (p.values['json']) {
    process.stdout.write(JSON.stringify(info, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(`${path}: model ${info.model} (architecture ${info.arch}, K = ${info.k}), format ${info.version}\n\n`);
  process.stdout.write(
    table(
      ['layer', 'kind', 'input', 'output', '.bnn bytes', 'float32 bytes', 'ratio'],
      info.layers.map((l) => [l.name, l.kind, l.input.join('×'), l.output.join('×'), bytes(l.bytes), bytes(l.float32Bytes), `${(l.float32Bytes / l.bytes).toFixed(1)}×`]),
      ['l', 'l', 'r', 'r', 'r', 'r', 'r'],
    ),
  );
  process.stdout.write(`\nfile ${bytes(info.fileBytes)} (${info.fileBytes} B) vs float32 weights ${bytes(info.float32Bytes)}: ${info.compression.toFixed(1)}× smaller\n`);
  return 0;
}
