/** Classifying image files with a model on the packed runtime: label, probability and the top k classes. */
import { readImageAs, type ReadImageOptions } from '../data/resize.js';
import type { BnnModel } from '../format/model.js';
import { inputSize } from '../model/graph.js';
import { BnnRuntime, type RuntimeOptions } from '../runtime/index.js';

export interface ClassScore {
  readonly label: number;
  readonly className: string | null;
  readonly probability: number;
}

export interface Classification extends ClassScore {
  readonly file: string;
  /** The k most probable classes, most probable first (ties: lower label first). */
  readonly top: ClassScore[];
}

export interface ClassifyOptions extends ReadImageOptions {
  readonly top?: number;
  readonly classNames?: readonly string[];
  readonly runtime?: RuntimeOptions;
}

export async function classifyFiles(model: BnnModel, files: readonly string[], opts: ClassifyOptions = {}): Promise<Classification[]> {
  const [h, w, c] = model.graph.input;
  const size = inputSize(model.graph);
  const images = new Float32Array(files.length * size);
  for (const [i, f] of files.entries()) images.set(await readImageAs(f, [h, w, c], opts), i * size);
  const rt = await BnnRuntime.fromModel(model, opts.runtime);
  try {
    const k = model.graph.classes;
    const p = rt.probabilities(images, files.length);
    const name = (label: number) => opts.classNames?.[label] ?? null;
    return files.map((file, i) => {
      const row = Array.from(p.subarray(i * k, (i + 1) * k), (probability, label) => ({ label, className: name(label), probability }));
      const top = [...row].sort((a, b) => b.probability - a.probability || a.label - b.label).slice(0, Math.max(1, opts.top ?? 3));
      return { file, ...top[0]!, top };
    });
  } finally {
    rt.dispose();
  }
}
