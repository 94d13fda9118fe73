#!/usr/bin/env node
/**
 * cli — the `bnn-edge` command. Each subcommand lives in its own cmd_*.ts, declares its options
 * once (args.ts) and is also reachable as a library function.
 */
import { BnnFormatError } from '../format/errors.js';
import { DataError } from '../data/dataset.js';
import { BnnInputError, BnnRuntimeError } from '../runtime/errors.js';
import { readFileSync } from 'node:fs';
import { UsageError, type CommandSpec } from './args.js';
import { attackCommand, blackboxCommand, hsjCommand, runAttack, runBlackbox, runHsj } from './cmd_attack.js';
import { benchCommand, runBenchCommand } from './cmd_bench.js';
import { classifyCommand, runClassify } from './cmd_classify.js';
import { demoCommand, runDemoCommand } from './cmd_demo.js';
import { evalCommand, runEval } from './cmd_eval.js';
import { exportCommand, runExport } from './cmd_export.js';
import { formatDocCommand, runFormatDoc } from './cmd_format_doc.js';
import { importCommand, runImport } from './cmd_import.js';
import { infoCommand, runInfo } from './cmd_info.js';
import { modelsCommand, runModels } from './cmd_models.js';
import { reproCommand, runRepro } from './cmd_repro.js';
import { runServe, serveCommand } from './cmd_serve.js';
import { runShip, shipCommand } from './cmd_ship.js';
import { runTrain, trainCommand } from './cmd_train.js';
import { runTransfer, transferCommand } from './cmd_transfer.js';
import { runVerify, verifyCommand } from './cmd_verify.js';
import { runWorker, workerCommand } from './cmd_worker.js';

const commands: { spec: CommandSpec; run: (argv: string[]) => Promise<number> }[] = [
  { spec: demoCommand, run: runDemoCommand },
  { spec: trainCommand, run: runTrain },
  { spec: exportCommand, run: runExport },
  { spec: importCommand, run: runImport },
  { spec: modelsCommand, run: runModels },
  { spec: infoCommand, run: runInfo },
  { spec: evalCommand, run: runEval },
  { spec: classifyCommand, run: runClassify },
  { spec: attackCommand, run: runAttack },
  { spec: blackboxCommand, run: runBlackbox },
  { spec: hsjCommand, run: runHsj },
  { spec: verifyCommand, run: runVerify },
  { spec: transferCommand, run: runTransfer },
  { spec: benchCommand, run: runBenchCommand },
  { spec: serveCommand, run: runServe },
  { spec: reproCommand, run: runRepro },
  { spec: workerCommand, run: runWorker },
  { spec: shipCommand, run: runShip },
  { spec: formatDocCommand, run: runFormatDoc },
];

/** The package's version (package.json, two folders above dist/src/cli). */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The command nearest to a mistyped one (edit distance at most 2, or a unique prefix). */
function nearestCommand(name: string, names: readonly string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++) next.push(Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
      row = next;
    }
    return row[b.length]!;
  };
  const prefixed = names.filter((n) => n.startsWith(name));
  if (prefixed.length === 1) return prefixed[0];
  const best = names.map((n) => ({ n, d: distance(name, n) })).sort((a, b) => a.d - b.d)[0];
  return best && best.d <= Math.min(2, Math.floor(name.length / 2)) ? best.n : undefined;
}

function usage(): string {
  const w = Math.max(...commands.map((c) => c.spec.name.length)) + 2;
  return (
    'bnn-edge — train, export, run and attack binarized neural networks on the edge\n\n' +
    'Usage: bnn-edge <command> [options]\n\nCommands:\n' +
    commands.map((c) => `  ${c.spec.name.padEnd(w)}${c.spec.summary}`).join('\n') +
    '\n\nRun "bnn-edge <command> --help" for a command\'s options; "bnn-edge --version" for the version.\n'
  );
}

export async function main(argv: string[]): Promise<number> {
  const [first, ...args] = argv;
  // `bnn-edge help attack` is `bnn-edge attack --help`.
  if (first === 'help' && args.length > 1) {
    process.stderr.write(`bnn-edge help: unexpected argument "${args[1]}" (bnn-edge help COMMAND)\n`);
    return 2;
  }
  const [name, rest] = first === 'help' && args.length ? [args[0], ['--help']] : [first, args];
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 1;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    const stray = rest.find((a) => a !== '--help' && a !== '-h');
    if (stray !== undefined) {
      process.stderr.write(`bnn-edge ${name}: unexpected argument "${stray}"\n`);
      return 2;
    }
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const cmd = commands.find((c) => c.spec.name === name);
  if (!cmd) {
    const near = nearestCommand(name, commands.map((c) => c.spec.name));
    process.stderr.write(`bnn-edge: unknown command "${name}"${near ? ` — did you mean "${near}"?` : ''}\n\nRun "bnn-edge --help" for the list of commands.\n`);
    return 2;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`bnn-edge ${name}: ${e.message}\n`);
      return 2;
    }
    if (e instanceof BnnFormatError || e instanceof DataError || e instanceof BnnInputError || e instanceof BnnRuntimeError || (e instanceof Error && e.name === 'InterchangeError')) {
      process.stderr.write(`bnn-edge ${name}: ${e.message}\n`);
      return 1;
    }
    // Anything else is reported by message; BNN_EDGE_DEBUG=1 shows the stack.
    if (e instanceof Error && !process.env['BNN_EDGE_DEBUG']) {
      process.stderr.write(`bnn-edge ${name}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

// Output piped into a command that stops reading (`bnn-edge info m.bnn | head`): stop quietly
// with the status of a process SIGPIPE ended (128 + 13), as Unix tools do, or the command's own.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode ?? 141);
  });

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`bnn-edge: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
