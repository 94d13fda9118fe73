import { startServer } from '../serve/server.js';
import { helpText, numberOption, parseCommand, stringOption, type CommandSpec } from './args.js';

export const serveCommand: CommandSpec = {
  name: 'serve',
  summary: 'The browser demo: draw a digit or pick a test image, classify it on the packed runtime in the page, attack it, see the flip.',
  usage: 'bnn-edge serve [--port 8080] [--host 127.0.0.1] [--models DIR]',
  options: {
    port: { type: 'string', help: 'port (0 = any free port)', default: '8080', metavar: 'N' },
    host: { type: 'string', help: 'interface to listen on', default: '127.0.0.1', metavar: 'HOST' },
    models: { type: 'string', help: 'directory of .bnn files and manifest.json (default: the shipped models/)', metavar: 'DIR' },
  },
};

export async function runServe(argv: string[]): Promise<number> {
  const p = parseCommand(serveCommand, argv);
  if (p.help) return process.stdout.write(helpText(serveCommand)), 0;
  const dir = stringOption(p, 'models');
  const server = await startServer({ port: numberOption(p, 'port', { integer: true, min: 0, max: 65535 })!, host: stringOption(p, 'host')!, ...(dir ? { modelsDir: dir } : {}) });
  process.stdout.write(`bnn-edge demo at ${server.url} (Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => process.once('SIGINT', resolve));
  await server.close();
  return 0;
}
