import { existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { readManifest } from '../format/manifest.js';
import { defineGraph, type ModelGraph } from '../model/graph.js';
import { paperModelOf } from '../model/presets.js';
import { listModels } from '../eval/demo.js';
import { helpText, noPositionals, parseCommand, type CommandSpec } from './args.js';
import { modelDirs } from './files.js';
import { bytes, pct, table } from './format.js';

export const modelsCommand: CommandSpec = {
  name: 'models',
  summary: 'List the models there are: in ./models (what `ship` writes) and installed with the package, each with its architecture, data, size and accuracy; research models kept in the repository are listed with how to rebuild them.',
  usage: 'bnn-edge models [--json]',
  options: { json: { type: 'boolean', help: 'print JSON (with each model\'s graph and training command)' } },
  details: 'Any command that takes a MODEL accepts one of these names (bnn-edge eval b64) as well as a path.',
};

export interface ModelListing {
  readonly name: string;
  readonly architecture: string;
  readonly input: readonly number[];
  readonly data: string | null;
  readonly bytes: number;
  /** Runtime accuracy on its test split, from the manifest. */
  readonly accuracy: number | null;
  /** The .bnn file, or null where only the manifest lists it. */
  readonly path: string | null;
  readonly rebuild: string | null;
}

/** What a graph is, in a few words: the paper's arch and K, or its name and binary layer count. */
export function describeArchitecture(graph: ModelGraph): string {
  const paper = paperModelOf(graph);
  if (paper) return `paper ${paper.arch}, K=${paper.k}`;
  const weighted = graph.layers.filter((l) => l.kind === 'quantConv2d' || l.kind === 'quantDense');
  const count = (q: (k: string | null) => boolean) => weighted.filter((l) => (l.kind === 'quantConv2d' || l.kind === 'quantDense') && q(l.kernelQuantizer)).length;
  const binary = count((k) => k !== null && k !== 'ste_tern');
  const ternary = count((k) => k === 'ste_tern');
  return `${graph.name}: ${graph.layers.length} layers, ${binary}/${weighted.length} weight layers binary${ternary ? `, ${ternary} ternary` : ''}`;
}

export function listInstalledModels(): ModelListing[] {
  const out: ModelListing[] = [];
  const seen = new Set<string>();
  for (const dir of modelDirs()) {
    const manifest = readManifest(dir).models;
    const files = new Set(listModels(dir).map((p) => basename(p)));
    for (const file of new Set([...manifest.map((m) => m.file), ...files])) {
      const name = basename(file, '.bnn');
      if (seen.has(name)) continue; // a nearer folder's model of that name is the one commands use
      const entry = manifest.find((m) => m.file === file);
      const path = join(dir, file);
      const present = files.has(file) && existsSync(path);
      seen.add(name);
      let graph: ModelGraph | null = null;
      try {
        graph = entry ? defineGraph(entry.graph) : null;
      } catch {
        graph = null; // an entry from an older manifest: the listing still shows the file
      }
      out.push({
        name,
        architecture: graph ? describeArchitecture(graph) : '(not recorded)',
        input: graph ? [...graph.input] : [],
        data: entry?.training.data ?? null,
        bytes: present ? statSync(path).size : (entry?.bytes ?? 0),
        accuracy: entry?.testAccuracy.runtime ?? null,
        path: present ? path : null,
        rebuild: present ? null : (entry?.training.command ?? null),
      });
    }
  }
  return out.sort((a, b) => Number(a.path === null) - Number(b.path === null) || a.name.localeCompare(b.name, 'en', { numeric: true }));
}

export async function runModels(argv: string[]): Promise<number> {
  const p = parseCommand(modelsCommand, argv);
  if (p.help) return process.stdout.write(helpText(modelsCommand)), 0;
  noPositionals(p);
  const models = listInstalledModels();
  if (p.values['json']) return process.stdout.write(JSON.stringify({ folders: modelDirs(), models }, null, 2) + '\n'), 0;
  if (!models.length) return process.stdout.write(`no models in ${modelDirs().join(' or ') || './models'}\n`), 0;
  const data = (d: string | null) => (d ?? '?').replace(/^embedded:mnist$/, 'mnist (embedded)').replace(/^(idx|images):.*\/([^/]+)$/, '$2');
  process.stdout.write(
    table(
      ['name', 'architecture', 'input', 'data', 'size', 'accuracy', 'where'],
      models.map((m) => [m.name, m.architecture, m.input.join('×'), data(m.data), bytes(m.bytes), m.accuracy === null ? '' : pct(m.accuracy), m.path ?? 'not installed']),
      ['l', 'l', 'l', 'l', 'r', 'r', 'l'],
    ),
  );
  const missing = models.filter((m) => m.path === null);
  if (missing.length) process.stdout.write(`\n${missing.length} research model${missing.length > 1 ? 's stay' : ' stays'} in the repository; \`bnn-edge models --json\` gives the command that rebuilds each (models/train.sh runs them all).\n`);
  return 0;
}
