import { COUNTEREXAMPLE_SEARCHES, DEFAULT_SOLVER, SOLVER_CHOICES, verifyRobustness, type CounterexampleSearch, type SolverChoice } from '../verify/index.js';
import { Progress } from '../util/progress.js';
import { openModel, testImagesFor } from './files.js';
import { dataOption } from './cmd_attack.js';
import { epsListOption, helpText, numberOption, parseCommand, requirePositional, stringOption, UsageError, type CommandSpec } from './args.js';
import { pct, table } from './format.js';

export const verifyCommand: CommandSpec = {
  name: 'verify',
  summary: 'Certified robustness of a .bnn: per image a proof that no input of the L∞ ball changes the runtime\'s label, a counterexample replayed on the runtime, or unknown.',
  usage: 'bnn-edge verify MODEL --eps E[,E2] [--n N] [--timeout S] [--solver NAME] [--data DIR] [--json]',
  options: {
    eps: { type: 'string', help: 'L∞ radii, comma-separated; a fraction such as 1/255 is allowed', default: '0.1', metavar: 'LIST' },
    n: { type: 'string', help: 'images verified (the first N test images)', default: '1000', metavar: 'N' },
    timeout: { type: 'string', help: 'time limit of one image\'s bounds and exact solver together, seconds (then unknown; default: none for the bounds, 10 s for the solver)', metavar: 'S' },
    solver: {
      type: 'string',
      help:
        `exact stage after the bounds, for models with a binarized input (a 1×1 int8 first layer on a one-channel image, binary layers after it): ` +
        `bab (our search over the free input bits with native cardinality propagation), bab-wasm (the same search with clause learning, compiled from AssemblyScript, build/exact-bab.wasm), ` +
        `z3 (z3-solver, pseudo-Boolean AtLeast), highs (HiGHS MILP, big-M), minisat (logic-solver, totalizer CNF), none. z3, highs and minisat are optional packages. Default: ${DEFAULT_SOLVER} when the model is encodable, else none`,
      metavar: 'NAME',
    },
    search: { type: 'string', help: `counterexample search on what the bounds leave open: ${COUNTEREXAMPLE_SEARCHES.join(', ')} (pgd: PGD on the tfjs graph rebuilt from the .bnn, then random box corners on the runtime; random: only the corners)`, default: 'pgd', metavar: 'NAME' },
    steps: { type: 'string', help: 'PGD iterations', default: '20', metavar: 'N' },
    seed: { type: 'string', help: 'random seed (PGD start, corners, stochastic weights)', default: '0', metavar: 'N' },
    data: dataOption,
    json: { type: 'boolean', help: 'print JSON (the summary per ε; per-image verdicts with --per-image)' },
    'per-image': { type: 'boolean', help: 'every image\'s verdict, the stage that settled it, proven margin and time (a table, or in the JSON)' },
  },
  details: `
verified: the bounds, or the exact solver, prove the label for every float32 input within ε of the
image (clipped to [0, 1], then through the model's own input quantisation), as the runtime computes
it, bit for bit (docs/VERIFY.md). attacked: accuracy under the counterexamples found (by the exact
solver or the search), each replayed on the runtime. Verified ≤ robust ≤ attacked accuracy; the gap
is the unknowns. With an exact solver and enough time there are none.`,
};

export async function runVerify(argv: string[]): Promise<number> {
  const p = parseCommand(verifyCommand, argv);
  if (p.help) return process.stdout.write(helpText(verifyCommand)), 0;
  const [path] = requirePositional(p, verifyCommand, 'MODEL');
  const eps = epsListOption(p);
  const search = stringOption(p, 'search') as CounterexampleSearch;
  if (!COUNTEREXAMPLE_SEARCHES.includes(search)) throw new UsageError(`--search must be one of ${COUNTEREXAMPLE_SEARCHES.join(', ')}, got "${search}"`);
  const solverName = stringOption(p, 'solver');
  if (solverName !== undefined && !SOLVER_CHOICES.includes(solverName as SolverChoice)) throw new UsageError(`--solver must be one of ${SOLVER_CHOICES.join(', ')}, got "${solverName}"`);
  const timeout = p.values['timeout'] !== undefined ? numberOption(p, 'timeout', { min: 1e-6 })! : undefined;
  const opened = openModel(path!);
  const { model, name } = opened;
  const data = testImagesFor(opened, stringOption(p, 'data'));
  const n = Math.min(numberOption(p, 'n', { integer: true, min: 1 })!, data.test.n);
  const json = Boolean(p.values['json']);
  const bar = new Progress({ label: `verify ${name}`, total: n * eps.length, stream: json ? null : undefined });
  const report = await verifyRobustness(model, data.test, {
    eps,
    n,
    search,
    steps: numberOption(p, 'steps', { integer: true, min: 1 })!,
    seed: numberOption(p, 'seed', { integer: true })!,
    ...(timeout !== undefined ? { timeoutMs: timeout * 1000 } : {}),
    ...(solverName !== undefined ? { solver: solverName as SolverChoice } : {}),
    onProgress: (done) => bar.update(done),
  });
  bar.finish();
  if (json) {
    const perImage = Boolean(p.values['per-image']);
    const rows = report.rows.map(({ results, ...row }) => ({ ...row, ...(perImage ? { results: results.map((r) => ({ ...r, margin: Number.isFinite(r.margin) ? r.margin : null })) } : {}) }));
    process.stdout.write(JSON.stringify({ ...report, name, data: data.source, rows }, null, 2) + '\n');
    return 0;
  }
  const exact = report.solver === 'none' ? `none${report.solverSkipped ? ` (${report.solverSkipped})` : ''}` : report.solver;
  process.stdout.write(`\n${name}: ${report.images} test images (${data.source}), exact solver: ${exact}, counterexample search: ${search}\n\n`);
  process.stdout.write(
    table(
      ['eps', 'clean', 'verified', 'attacked', 'unknown', 'median ms/image'],
      report.rows.map((r) => [Number(r.eps.toPrecision(4)), pct(r.cleanAccuracy), pct(r.verifiedAccuracy), pct(r.attackedAccuracy), pct(r.unknownFraction), r.medianMs.toFixed(1)]),
    ),
  );
  if (p.values['per-image']) {
    process.stdout.write('\n');
    process.stdout.write(
      table(
        ['eps', 'image', 'label', 'verdict', 'stage / reason', 'margin', 'ms'],
        report.rows.flatMap((r) =>
          r.results.map((x) => [Number(r.eps.toPrecision(4)), x.index, x.label, x.verdict, x.reason ?? x.stage ?? '', Number.isFinite(x.margin) ? x.margin.toFixed(3) : '', x.ms.toFixed(1)]),
        ),
      ),
    );
  }
  process.stdout.write('\nverified: proven for every input of the ball; attacked: accuracy under counterexamples replayed on the runtime; robust accuracy lies between them.\n');
  for (const r of report.rows) {
    if (r.notReplayed) process.stdout.write(`note: at ε = ${r.eps.toPrecision(4)}, ${r.notReplayed} attack${r.notReplayed > 1 ? 's' : ''} fooled the tfjs graph but not the runtime (counted unknown).\n`);
    const timeouts = r.results.filter((x) => x.reason === 'timeout').length;
    if (timeouts) process.stdout.write(`note: at ε = ${r.eps.toPrecision(4)}, ${timeouts} image${timeouts > 1 ? 's' : ''} reached the time limit (counted unknown).\n`);
    if (report.solver !== 'none') process.stdout.write(`note: at ε = ${r.eps.toPrecision(4)}, the exact solver decided ${r.exactDecided} image${r.exactDecided === 1 ? '' : 's'} the bounds left open.\n`);
    const disagreed = r.results.filter((x) => x.reason === 'runtime-disagrees').length;
    if (disagreed) process.stdout.write(`note: at ε = ${r.eps.toPrecision(4)}, ${disagreed} solver counterexample${disagreed > 1 ? 's were' : ' was'} classified correctly by the runtime (counted unknown; please report it).\n`);
    const unbounded = r.results.filter((x) => x.reason === 'unbounded').length;
    if (unbounded) process.stdout.write(`note: at ε = ${r.eps.toPrecision(4)}, ${unbounded} image${unbounded > 1 ? 's' : ''} could not be bounded (a float32 value may overflow; counted unknown).\n`);
  }
  return 0;
}
