import { helpText, noPositionals, numberOption, parseCommand, stringOption, UsageError, type CommandSpec } from './args.js';

export const serveCommand: CommandSpec = {
  name: 'serve',
  summary: 'The browser demo: draw a digit or pick a test image, classify it on the packed runtime in the page, attack it, see the flip.',
  usage: 'bnn-edge serve [--port 8080] [--host 127.0.0.1] [--models DIR]',
  options: {
    port: { type: 'string', help: 'port (0 = any free port)', default: '8080', metavar: 'N' },
    host: { type: 'string', help: 'interface to listen on; anything but loopback exposes the server to the network (a warning is printed)', default: '127.0.0.1', metavar: 'HOST' },
    models: { type: 'string', help: 'directory of .bnn files and manifest.json (default: the shipped models/)', metavar: 'DIR' },
    'allow-host': { type: 'string', help: 'extra host names requests may be addressed to, comma-separated (IP addresses and localhost always are)', metavar: 'NAMES' },
    'attack-workers': { type: 'string', help: 'worker threads crafting attacks (default: 1 per spare core, at most 2)', metavar: 'N' },
    'attack-timeout': { type: 'string', help: 'seconds one attack may run before its worker is stopped', default: '60', metavar: 'S' },
  },
  details: `
The server answers only requests addressed to it by IP address, localhost or an --allow-host name
(DNS rebinding), takes API calls only as same-origin application/json (CSRF), serves regular
files only and never follows a symlink out of a served folder, and crafts attacks in worker threads
with a bounded queue. See docs/SECURITY.md ("Local server").`,
};

export async function runServe(argv: string[]): Promise<number> {
  const p = parseCommand(serveCommand, argv);
  if (p.help) return process.stdout.write(helpText(serveCommand)), 0;
  noPositionals(p);
  const dir = stringOption(p, 'models');
  const allowed = stringOption(p, 'allow-host')?.split(',').map((s) => s.trim());
  if (allowed?.some((s) => !/^[A-Za-z0-9.-]+$/.test(s))) throw new UsageError(`--allow-host takes host names separated by commas, got "${stringOption(p, 'allow-host')}"`);
  const workers = numberOption(p, 'attack-workers', { integer: true, min: 1, max: 64 });
  // Loaded here, not at the top: every other command would pay for loading fastify.
  const { startServer } = await import('../serve/server.js');
  const server = await startServer({
    port: numberOption(p, 'port', { integer: true, min: 0, max: 65535 })!,
    host: stringOption(p, 'host')!,
    attackTimeoutMs: 1000 * numberOption(p, 'attack-timeout', { min: 0.1, max: 3600 })!,
    ...(dir ? { modelsDir: dir } : {}),
    ...(allowed ? { allowedHosts: allowed } : {}),
    ...(workers ? { attackWorkers: workers } : {}),
  });
  for (const w of server.warnings) process.stderr.write(`${w}\n`);
  process.stdout.write(`bnn-edge demo at ${server.url} (Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => process.once('SIGINT', resolve));
  await server.close();
  return 0;
}
