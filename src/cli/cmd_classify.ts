import { classNamesOf } from '../data/index.js';
import { IMAGE_FITS, type ImageFit } from '../data/resize.js';
import { classifyFiles, type ClassScore } from '../eval/classify.js';
import { helpText, numberOption, parseCommand, stringOption, UsageError, type CommandSpec } from './args.js';
import { openModel } from './files.js';

export const classifyCommand: CommandSpec = {
  name: 'classify',
  summary: "Classify image files (PNG, JPEG, WebP, …) on the packed runtime: each is resized to the model's input and gets its label, probability and top classes.",
  usage: 'bnn-edge classify MODEL IMAGE… [--top 3] [--fit fill|contain|cover] [--background black|white] [--invert] [--scalar] [--json]',
  options: {
    top: { type: 'string', help: 'classes listed per image', default: '3', metavar: 'K' },
    fit: { type: 'string', help: "how an image is fitted to the model's height × width: fill (stretch), contain (letterbox), cover (crop)", default: 'fill', metavar: 'MODE' },
    background: { type: 'string', help: 'what transparency and letterboxing become: black or white', default: 'black', metavar: 'COLOR' },
    invert: { type: 'boolean', help: 'invert the image (dark strokes on white paper → MNIST\'s light on black)' },
    scalar: { type: 'boolean', help: 'use the scalar (non-SIMD) kernels' },
    json: { type: 'boolean', help: 'print JSON' },
  },
  details: 'Gray models (one channel) see the image in grayscale; RGB models in sRGB. Values are scaled to [0, 1], as in training.',
};

export async function runClassify(argv: string[]): Promise<number> {
  const p = parseCommand(classifyCommand, argv);
  if (p.help) return process.stdout.write(helpText(classifyCommand)), 0;
  const [modelArg, ...files] = p.positionals;
  if (!modelArg || !files.length) throw new UsageError(`give a model and at least one image\nUsage: ${classifyCommand.usage}`);
  const fit = stringOption(p, 'fit') as ImageFit;
  if (!IMAGE_FITS.includes(fit)) throw new UsageError(`--fit must be one of ${IMAGE_FITS.join(', ')}, got "${fit}"`);
  const background = stringOption(p, 'background');
  if (background !== 'black' && background !== 'white') throw new UsageError(`--background must be black or white, got "${background}"`);
  const opened = openModel(modelArg);
  const classNames = opened.data ? classNamesOf(opened.data, opened.model.graph.classes) : undefined;
  const results = await classifyFiles(opened.model, files, {
    top: Math.min(numberOption(p, 'top', { integer: true, min: 1 })!, opened.model.graph.classes),
    fit,
    background: background === 'white' ? 1 : 0,
    invert: Boolean(p.values['invert']),
    ...(classNames ? { classNames } : {}),
    ...(p.values['scalar'] ? { runtime: { simd: false } } : {}),
  });
  if (p.values['json']) return process.stdout.write(JSON.stringify({ model: opened.name, classifications: results }, null, 2) + '\n'), 0;
  const label = (s: ClassScore) => (s.className !== null && s.className !== String(s.label) ? `${s.label} ${s.className}` : String(s.label));
  const width = Math.max(...results.map((r) => r.file.length));
  for (const r of results) {
    const top = r.top.map((s) => `${label(s)} ${(100 * s.probability).toFixed(1)}%`).join(', ');
    process.stdout.write(`${r.file.padEnd(width)}  ${label(r)} (${(100 * r.probability).toFixed(1)}%)   top ${r.top.length}: ${top}\n`);
  }
  return 0;
}
