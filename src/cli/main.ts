#!/usr/bin/env node
/**
 * cli — the `bnn-edge` command. Each subcommand lives in its own cmd_*.ts, declares its options
 * once (args.ts) and is also reachable as a library function.
 */
import { BnnFormatError } from '../format/errors.js';
import { DataError } from '../data/dataset.js';
import { BnnInputError, BnnRuntimeError } from '../runtime/errors.js';
import { UsageError, type CommandSpec } from './args.js';
import { attackCommand, blackboxCommand, hsjCommand, runAttack, runBlackbox, runHsj } from './cmd_attack.js';
import { benchCommand, runBenchCommand } from './cmd_bench.js';
import { demoCommand, runDemoCommand } from './cmd_demo.js';
import { evalCommand, runEval } from './cmd_eval.js';
import { exportCommand, runExport } from './cmd_export.js';
import { formatDocCommand, runFormatDoc } from './cmd_format_doc.js';
import { infoCommand, runInfo } from './cmd_info.js';
import { reproCommand, runRepro } from './cmd_repro.js';
import { runServe, serveCommand } from './cmd_serve.js';
import { runShip, shipCommand } from './cmd_ship.js';
import { runTrain, trainCommand } from './cmd_train.js';
import { runTransfer, transferCommand } from './cmd_transfer.js';

const commands: { spec: CommandSpec; run: (argv: string[]) => Promise<number> }[] = [
  { spec: demoCommand, run: runDemoCommand },
  { spec: trainCommand, run: runTrain },
  { spec: exportCommand, run: runExport },
  { spec: infoCommand, run: runInfo },
  { spec: evalCommand, run: runEval },
  { spec: attackCommand, run: runAttack },
  { spec: blackboxCommand, run: runBlackbox },
  { spec: hsjCommand, run: runHsj },
  { spec: transferCommand, run: runTransfer },
  { spec: benchCommand, run: runBenchCommand },
  { spec: serveCommand, run: runServe },
  { spec: reproCommand, run: runRepro },
  { spec: shipCommand, run: runShip },
  { spec: formatDocCommand, run: runFormatDoc },
];

function usage(): string {
  const w = Math.max(...commands.map((c) => c.spec.name.length)) + 2;
  return (
    'bnn-edge — train, export, run and attack binarized neural networks on the edge\n\n' +
    'Usage: bnn-edge <command> [options]\n\nCommands:\n' +
    commands.map((c) => `  ${c.spec.name.padEnd(w)}${c.spec.summary}`).join('\n') +
    '\n\nRun "bnn-edge <command> --help" for a command\'s options.\n'
  );
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 1;
  }
  const cmd = commands.find((c) => c.spec.name === name);
  if (!cmd) {
    process.stderr.write(`bnn-edge: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`bnn-edge ${name}: ${e.message}\n`);
      return 2;
    }
    if (e instanceof BnnFormatError || e instanceof DataError || e instanceof BnnInputError || e instanceof BnnRuntimeError) {
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

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`bnn-edge: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
