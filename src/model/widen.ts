import { Rng } from '../util/rng.js';
import { checkParams, type ParamValues } from './params.js';
import { inferShapes, type LayerShape, type ModelGraph } from './graph.js';
import { paperModel, paperModelOf } from './presets.js';

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
export function widenParams(from: ModelGraph, values: ParamValues, toK: number, seed: number): { graph: ModelGraph; params: ParamValues } {
  const paper = paperModelOf(from);
  if (!paper) throw new RangeError(`widen: ${from.name} is not one of the paper's models; only their float versions (A, R) can be widened`);
  if (paper.arch !== 'A' && paper.arch !== 'R') {
    throw new RangeError(`widen: ${from.name} (${paper.arch}-${paper.k}) has binary layers; only float models (A, R) can be widened, as a sign weight cannot be split among copies`);
  }
  if (toK < paper.k) throw new RangeError(`widen: K ${toK} is below the model's ${paper.k}; widening only adds units`);
  const to = paperModel(paper.arch, toK);
  checkParams(from, values, `widen ${from.name}`);
  const rng = new Rng(seed);
  const weightLayers = (g: ModelGraph) => inferShapes(g).filter((s) => s.layer.kind === 'quantConv2d' || s.layer.kind === 'quantDense');
  const kernelShape = (s: LayerShape): number[] => (s.layer.kind === 'quantConv2d' ? [...s.layer.kernelSize, s.inputs[0]![2], s.output[2]] : [s.inputs[0]![2], s.output[2]]);
  const oldShapes = weightLayers(from);
  const newShapes = weightLayers(to);
  const params: ParamValues = new Map();
  // Old unit read by each input of the current layer: the image's channels for the first layer.
  let inMap = copyMap(from.input[2], from.input[2]);
  // (Weight layers only: the ReLUs and the flatten between them pass units through unchanged.)
  for (let l = 0; l < newShapes.length; l++) {
    const o = oldShapes[l]!;
    const n = newShapes[l]!;
    const name = n.layer.name;
    const oldOut = o.output[2];
    const newOut = n.output[2];
    const outMap = copyMap(newOut, oldOut);
    // Inputs of this layer as old input indices: channels for a conv, flattened h·w·c features for dense.
    let featureMap: Int32Array;
    let spatial: number;
    if (n.layer.kind === 'quantConv2d') {
      featureMap = inMap;
      spatial = kernelShape(n)[0]! * kernelShape(n)[1]!;
    } else {
      const [h, w, c] = oldShapes[l - 1]!.output;
      const newC = newShapes[l - 1]!.output[2];
      featureMap = new Int32Array(h * w * newC);
      for (let p = 0; p < h * w; p++) for (let ch = 0; ch < newC; ch++) featureMap[p * newC + ch] = p * c + inMap[ch]!;
      spatial = 1;
    }
    const oldIn = kernelShape(o)[kernelShape(o).length - 2]!;
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
  checkParams(to, params, `widen ${to.name}`);
  return { graph: to, params };
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
