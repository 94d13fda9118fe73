/** Size of every shipped model: .bnn bytes vs the same model's float32 weights, per layer. */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listModels } from '../../src/eval/demo.js';
import { describeModel } from '../../src/format/info.js';
import { parseBnn } from '../../src/format/read.js';
import { fmt, mdTable } from '../lib.js';

export const MODELS_DIR = fileURLToPath(new URL('../../../models/', import.meta.url));

export async function sizeSuite(): Promise<{ markdown: string; data: unknown }> {
  const infos = listModels(MODELS_DIR).map((p) => {
    const bytes = readFileSync(p);
    return { name: basename(p, '.bnn'), info: describeModel(parseBnn(bytes, { source: p }), bytes.length) };
  });
  const rows = infos.map(({ name, info }) => [
    name,
    fmt(info.fileBytes),
    fmt(info.float32Bytes),
    `${info.compression.toFixed(1)}×`,
    info.layers.map((l) => `${l.name} ${fmt(l.bytes)}`).join(', '),
  ]);
  const markdown =
    mdTable(['model', '.bnn bytes', 'float32 weights bytes', 'smaller by', 'bytes per layer'], rows) +
    '\n\nfloat32 weights = every parameter of the same model (batch-norm statistics and SReLU scales included) as 4-byte floats. Binary layers pack 32 weights per 4-byte word; conv1 and dense stay float32.';
  return { markdown, data: infos.map(({ name, info }) => ({ name, fileBytes: info.fileBytes, float32Bytes: info.float32Bytes, compression: info.compression })) };
}
