import { describeModel } from '../format/info.js';
import { openModel } from './files.js';
import { helpText, parseCommand, requirePositional, type CommandSpec } from './args.js';
import { bytes, table } from './format.js';

export const infoCommand: CommandSpec = {
  name: 'info',
  summary: 'Show a .bnn model: its graph (layers, their inputs and options, shapes), bytes per layer, and total size against float32.',
  usage: 'bnn-edge info MODEL [--json]',
  options: { json: { type: 'boolean', help: 'print JSON' } },
};

export async function runInfo(argv: string[]): Promise<number> {
  const p = parseCommand(infoCommand, argv);
  if (p.help) return process.stdout.write(helpText(infoCommand)), 0;
  const [path] = requirePositional(p, infoCommand, 'MODEL');
  const { bytes: file, model, path: found } = openModel(path!);
  const info = describeModel(model, file.length);
  if (p.values['json']) {
    process.stdout.write(JSON.stringify(info, null, 2) + '\n');
    return 0;
  }
  const paper = info.paper ? ` (the paper's ${info.paper.arch}, K = ${info.paper.k})` : '';
  process.stdout.write(`${found}: model ${info.model}${paper}, ${info.input.join('×')} → ${info.classes} classes, format ${info.version}\n\n`);
  // A layer's input is named only where it is not the layer just above (a residual add, a branch).
  const previous = ['input', ...info.layers.map((l) => l.name)];
  process.stdout.write(
    table(
      ['layer', 'kind', 'options', 'output', '.bnn bytes', 'float32 bytes'],
      info.layers.map((l, i) => [l.name + (l.inputs.length > 1 || l.inputs[0] !== previous[i] ? ` ← ${l.inputs.join(', ')}` : ''), l.kind, l.detail, l.output.join('×'), l.bytes ? bytes(l.bytes) : '', l.float32Bytes ? bytes(l.float32Bytes) : '']),
      ['l', 'l', 'l', 'r', 'r', 'r'],
    ),
  );
  process.stdout.write(`\nfile ${bytes(info.fileBytes)} (${info.fileBytes} B) vs float32 weights ${bytes(info.float32Bytes)}: ${info.compression.toFixed(1)}× smaller\n`);
  return 0;
}
