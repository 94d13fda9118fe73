import { Rng } from '../util/rng.js';
import { checkParams, type ParamValues } from './params.js';
import { layerShapes, modelSpec, type ModelSpec } from './spec.js';

/**
 * Function-preserving widening (Net2WiderNet, Chen et al. 2016) of a float model to a larger K,
 * so capacity can be added to a trained model without starting over. Unit j of a widened layer
 * copies the incoming weights (and bias) of old unit j mod n; a layer that reads copies splits
 * each old weight among them. Because every copy computes exactly the old unit's activation, the
 * widened model computes the same logits. The split is not even: each copy takes a random share
 * (the shares of one old weight sum to 1), so copies get different gradients and drift apart in
 * training. An even split would keep them identical forever.
 *
 * Only float layers can be split this way. A binary layer's weights are signs, and a half is not
 * a sign, so B, C and S are refused.
 */

/** Spread of the copies' shares around the even split, relative to it. */
export const WIDEN_SHARE_SPREAD = 0.1;

/** Maps new unit i to the old unit it copies, for `newSize` units copying `oldSize`. */
function copyMap(newSize: number, oldSize: number): Int32Array {
  const m = new Int32Array(newSize);
  for (let i = 0; i < newSize; i++) m[i] = i % oldSize;
  return m;
}

/**
 * Parameters of `from` widened to K = `toK`, computing the same function. `seed` draws the
 * copies' shares (see WIDEN_SHARE_SPREAD).
 */
export function widenParams(from: ModelSpec, values: ParamValues, toK: number, seed: number): { spec: ModelSpec; params: ParamValues } {
  const to = modelSpec(from.arch, toK);
  if (toK < from.k) throw new RangeError(`widen: K ${toK} is below the model's ${from.k}; widening only adds units`);
  for (const l of from.layers) {
    if (l.kind === 'conv' && (l.binary || l.scaled || l.stochastic)) {
      throw new RangeError(`widen: ${from.arch}-${from.k} has binary layer ${l.name}; only float models (A, R) can be widened, as a sign weight cannot be split among copies`);
    }
  }
  checkParams(from, values, `widen ${from.arch}-${from.k}`);
  const rng = new Rng(seed);
  const oldShapes = layerShapes(from);
  const newShapes = layerShapes(to);
  const params: ParamValues = new Map();
  // Old unit read by each input of the current layer: the image's channels for the first layer.
  let inMap = copyMap(from.input[2], from.input[2]);
  for (let l = 0; l < newShapes.length; l++) {
    const o = oldShapes[l]!;
    const n = newShapes[l]!;
    const name = n.layer.name;
    const oldOut = o.out[2];
    const newOut = n.out[2];
    const outMap = copyMap(newOut, oldOut);
    // Inputs of this layer as old input indices: channels for a conv, flattened h·w·c features for dense.
    let featureMap: Int32Array;
    let spatial: number;
    if (n.layer.kind === 'conv') {
      featureMap = inMap;
      spatial = n.weights[0]! * n.weights[1]!;
    } else {
      const [h, w, c] = oldShapes[l - 1]!.out;
      const newC = newShapes[l - 1]!.out[2];
      featureMap = new Int32Array(h * w * newC);
      for (let p = 0; p < h * w; p++) for (let ch = 0; ch < newC; ch++) featureMap[p * newC + ch] = p * c + inMap[ch]!;
      spatial = 1;
    }
    const oldIn = o.weights[o.weights.length - 2]!;
    const newIn = featureMap.length;
    // Copies of each old input, to split its weights among.
    const copies: number[][] = Array.from({ length: oldIn }, () => []);
    for (let i = 0; i < newIn; i++) copies[featureMap[i]!]!.push(i);
    const w = values.get(`${name}/kernel`)!;
    const nw = new Float32Array(spatial * newIn * newOut);
    const shares = new Float64Array(Math.max(...copies.map((c) => c.length)));
    for (let s = 0; s < spatial; s++) {
      for (let oi = 0; oi < oldIn; oi++) {
        const group = copies[oi]!;
        for (let j = 0; j < newOut; j++) {
          const old = w[(s * oldIn + oi) * oldOut + outMap[j]!]!;
          drawShares(shares, group.length, rng);
          for (let r = 0; r < group.length; r++) nw[(s * newIn + group[r]!) * newOut + j] = old * shares[r]!;
        }
      }
    }
    params.set(`${name}/kernel`, nw);
    const bias = values.get(`${name}/bias`);
    if (bias) params.set(`${name}/bias`, Float32Array.from(outMap, (g) => bias[g]!));
    inMap = outMap;
  }
  checkParams(to, params, `widen ${to.arch}-${to.k}`);
  return { spec: to, params };
}

/** Fills shares[0..n) with random weights summing exactly to 1, each 1/n · (1 ± ~spread). */
function drawShares(shares: Float64Array, n: number, rng: Rng): void {
  if (n === 1) {
    shares[0] = 1;
    return;
  }
  let mean = 0;
  for (let r = 0; r < n; r++) mean += (shares[r] = rng.normal());
  mean /= n;
  for (let r = 0; r < n; r++) shares[r] = (1 + WIDEN_SHARE_SPREAD * (shares[r]! - mean)) / n;
}
