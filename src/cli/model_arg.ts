/** The `--model` option of the commands that build a model: a preset name or a graph JSON file. */
import { existsSync } from 'node:fs';
import { GraphError, type ModelGraph } from '../model/graph.js';
import { graphFromJson, paperModel, parseArch, presetGraph, PRESET_HELP } from '../model/presets.js';
import { FileReadError, readJsonFile } from '../util/fs.js';
import { UsageError } from './args.js';

/** Largest graph file read (a graph is a few kB of JSON; this bounds a mistaken path). */
const MAX_GRAPH_FILE = 4 << 20;

/** The graph `value` names: a preset (b64, larq-tutorial, …) or a .json file holding a model graph. */
export function resolveModel(value: string, option = '--model'): ModelGraph {
  const preset = presetGraph(value);
  if (preset) return preset;
  if (!existsSync(value)) throw new UsageError(`${option} ${value}: neither a preset (${PRESET_HELP}) nor a file`);
  let json: unknown;
  try {
    json = readJsonFile(value, MAX_GRAPH_FILE);
  } catch (e) {
    if (e instanceof FileReadError) throw new UsageError(`${option} ${e.message}`);
    throw new UsageError(`${option} ${value}: not valid JSON: ${(e as Error).message}`);
  }
  try {
    return graphFromJson(json, value);
  } catch (e) {
    if (e instanceof GraphError) throw new UsageError(`${option} ${(e as Error).message}`);
    // A file built to break the reader (nesting past the stack): refused, not a crash.
    if (e instanceof RangeError) throw new UsageError(`${option} ${value}: not a model graph (${e.message})`);
    throw e;
  }
}

/** `--arch X --k K`, the paper's shorthand, as its preset graph. */
export function paperModelArg(arch: string, k: number): ModelGraph {
  try {
    return paperModel(parseArch(arch), k);
  } catch (e) {
    throw new UsageError(`--arch: ${(e as Error).message}`);
  }
}
