import { writeFileSync } from 'node:fs';
import { formatDoc } from '../format/doc.js';
import { helpText, noPositionals, parseCommand, stringOption, type CommandSpec } from './args.js';

export const formatDocCommand: CommandSpec = {
  name: 'format-doc',
  summary: 'Print (or write) docs/FORMAT.md, generated from the .bnn layout definition.',
  usage: 'bnn-edge format-doc [--out FILE]',
  options: { out: { type: 'string', help: 'write to FILE instead of stdout', metavar: 'FILE' } },
};

export async function runFormatDoc(argv: string[]): Promise<number> {
  const p = parseCommand(formatDocCommand, argv);
  if (p.help) return process.stdout.write(helpText(formatDocCommand)), 0;
  noPositionals(p);
  const out = stringOption(p, 'out');
  if (out) writeFileSync(out, formatDoc());
  else process.stdout.write(formatDoc());
  return 0;
}
