import { Rng } from '../util/rng.js';
import { layerShapes, paramInfos, SRELU_INIT, type ModelSpec } from './spec.js';

/** Host-side parameter values by name (see paramInfos for names and shapes). */
export type ParamValues = Map<string, Float32Array>;

function truncatedNormal(n: number, std: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let z = rng.normal();
    while (Math.abs(z) > 2) z = rng.normal();
    a[i] = z * std;
  }
  return a;
}

/** Scales each output column (last axis) of a [rows, cols] weight matrix to unit L2 norm. */
function normalizeColumns(w: Float32Array, cols: number): void {
  const norms = new Float64Array(cols);
  for (let i = 0; i < w.length; i++) norms[i % cols]! += w[i]! * w[i]!;
  for (let i = 0; i < w.length; i++) w[i] = w[i]! / Math.sqrt(1e-7 + norms[i % cols]!);
}

/**
 * Initial parameters, as in the paper's code: float convs truncated-normal(0.1) scaled to unit
 * norm per filter; binary convs truncated-normal(0.2) (their sign is what matters); the dense
 * layer normal with unit-norm columns; batch norm shift 0, moving mean 0, variance 1; SReLU 0.05;
 * biases (model R) 0.
 */
export function initParams(spec: ModelSpec, seed: number): ParamValues {
  const rng = new Rng(seed);
  const shapes = new Map(layerShapes(spec).map((s) => [s.layer.name, s]));
  const values: ParamValues = new Map();
  for (const p of paramInfos(spec)) {
    const size = p.shape.reduce((a, b) => a * b, 1);
    const [layerName, kind] = p.name.split('/') as [string, string];
    const layer = shapes.get(layerName)!.layer;
    let v: Float32Array;
    switch (kind) {
      case 'kernel': {
        const cols = p.shape[p.shape.length - 1]!;
        if (layer.kind === 'conv' && layer.binary) {
          v = truncatedNormal(size, 0.2, rng);
        } else if (layer.kind === 'conv') {
          v = truncatedNormal(size, 0.1, rng);
          normalizeColumns(v, cols);
        } else {
          v = new Float32Array(size);
          for (let i = 0; i < size; i++) v[i] = rng.normal();
          normalizeColumns(v, cols);
        }
        break;
      }
      case 'bn_variance':
        v = new Float32Array(size).fill(1);
        break;
      case 'scale':
        v = new Float32Array([SRELU_INIT]);
        break;
      default: // bn_beta, bn_mean, bias
        v = new Float32Array(size);
    }
    values.set(p.name, v);
  }
  return values;
}

/** Checks that `values` holds exactly the parameters of `spec` with the right sizes. */
export function checkParams(spec: ModelSpec, values: ParamValues, where: string): void {
  for (const p of paramInfos(spec)) {
    const v = values.get(p.name);
    const size = p.shape.reduce((a, b) => a * b, 1);
    if (!v) throw new Error(`${where}: missing parameter ${p.name}`);
    if (v.length !== size) throw new Error(`${where}: parameter ${p.name} has ${v.length} values, expected ${size} for shape [${p.shape.join(', ')}]`);
  }
}
