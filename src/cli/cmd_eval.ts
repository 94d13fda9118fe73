import { evaluateParity } from '../eval/parity.js';
import { openModel, testImagesFor } from './files.js';
import { dataOption } from './cmd_attack.js';
import { helpText, numberOption, parseCommand, requirePositional, stringOption, type CommandSpec } from './args.js';
import { pct } from './format.js';
import { isStochastic } from '../model/graph.js';

export const evalCommand: CommandSpec = {
  name: 'eval',
  summary: 'Clean accuracy of a .bnn on the held-out test set, on the packed runtime and on the tfjs graph rebuilt from the same file, and their agreement.',
  usage: 'bnn-edge eval MODEL [--data DIR] [--n N] [--json]',
  options: {
    data: dataOption,
    n: { type: 'string', help: 'evaluate only the first N test images', metavar: 'N' },
    scalar: { type: 'boolean', help: 'use the scalar (non-SIMD) kernels' },
    seed: { type: 'string', help: 'seed of model S weight sampling', default: '0' },
    json: { type: 'boolean', help: 'print JSON' },
  },
};

export async function runEval(argv: string[]): Promise<number> {
  const p = parseCommand(evalCommand, argv);
  if (p.help) return process.stdout.write(helpText(evalCommand)), 0;
  const [path] = requirePositional(p, evalCommand, 'MODEL');
  const opened = openModel(path!);
  const { model, name } = opened;
  const data = testImagesFor(opened, stringOption(p, 'data'));
  const limit = numberOption(p, 'n', { integer: true, min: 1 });
  const r = await evaluateParity(name, model, data.test, {
    ...(p.values['scalar'] ? { simd: false } : {}),
    seed: numberOption(p, 'seed', { integer: true })!,
    ...(limit ? { limit } : {}),
  });
  if (p.values['json']) {
    process.stdout.write(JSON.stringify({ ...r, data: data.source }, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(
    `${r.model} on ${r.images} test images (${data.source}):\n` +
      `  runtime (${r.runtime.flavor}) accuracy ${pct(r.runtimeAccuracy)}   tfjs accuracy ${pct(r.tfjsAccuracy)}   agreement ${pct(r.agreement)} (${r.disagreements.length} differ)\n` +
      `  runtime throughput ${Math.round(r.runtime.imagesPerSecond)} images/s\n` +
      (isStochastic(model.graph)
        ? '  (this model samples its stochastic layer independently on each side: agreement measures sampling noise, not a defect)\n'
        : ''),
  );
  return 0;
}
