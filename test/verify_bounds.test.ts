/**
 * The verifier's bounds on larger graphs than the exhaustive test can enumerate: random graphs
 * (every layer kind, test/random_graphs.ts) with float weights of mixed magnitudes — so float32
 * sums cancel and round — and the runtime's logits for inputs of the box (its centre, its two
 * extreme corners, random corners) must lie within the bounds the verifier gives them. At ε = 0
 * the box is one image and this checks the float error margins directly: without them the bounds
 * of a rounded sum would miss the runtime's value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modelFromParams } from '../src/format/model.js';
import type { ModelGraph } from '../src/model/graph.js';
import type { ParamValues } from '../src/model/params.js';
import { BnnRuntime } from '../src/runtime/index.js';
import { Rng } from '../src/util/rng.js';
import { verificationBox } from '../src/verify/bounds.js';
import { propagate } from '../src/verify/propagate.js';
import type { AbstractValue } from '../src/verify/domain.js';
import { randomGraph, randomGraphParams } from './random_graphs.js';

const GRAPHS = Number(process.env['BNN_EDGE_VERIFY_GRAPHS'] ?? 300);
const POINTS = 8;

/** Float weights and biases of magnitudes 10⁻²…10², not dyadic: float32 sums round and cancel. */
function roundingWeights(graph: ModelGraph, params: ParamValues, rng: Rng): ParamValues {
  const float = new Set(graph.layers.filter((l) => (l.kind === 'quantConv2d' || l.kind === 'quantDense') && !l.kernelQuantizer).map((l) => l.name));
  for (const [name, v] of params) {
    const [layer, param] = name.split('/') as [string, string];
    if (float.has(layer) && (param === 'kernel' || param === 'bias')) for (let i = 0; i < v.length; i++) v[i] = Math.fround(rng.normal() * 10 ** (rng.int(5) - 2));
  }
  return params;
}

test(`bounds: ${GRAPHS} random graphs, the runtime's logits for inputs of the box lie within the verifier's bounds`, async () => {
  let checked = 0;
  let exact = 0;
  for (let g = 0; g < GRAPHS; g++) {
    const rng = new Rng(90_000 + g);
    const graph = randomGraph(rng, `b${g}`, { ternary: g % 2 === 1 });
    const model = modelFromParams(graph, roundingWeights(graph, randomGraphParams(graph, rng), rng), { int8: rng.next() < 0.6 ? 'auto' : false });
    const rt = await BnnRuntime.fromModel(model, { maxBatch: POINTS });
    const plan = rt.plan;
    if (plan.stochastic) {
      rt.dispose();
      continue; // a trace draws its own weights; stochastic bounds are covered by verify.test.ts
    }
    const [h, w, c] = graph.input;
    const px = h * w * c;
    const x0 = Float32Array.from({ length: px }, () => Math.fround(rng.next()));
    const eps = [0, 1 / 255, 0.01][g % 3]!;
    const box = verificationBox(plan, x0, eps);
    const points = new Float32Array(POINTS * px);
    for (let k = 0; k < POINTS; k++)
      for (let p = 0; p < px; p++) points[k * px + p] = k === 0 ? x0[p]! : k === 1 ? box.lo[p]! : k === 2 ? box.hi[p]! : rng.next() < 0.5 ? box.lo[p]! : box.hi[p]!;
    let bounds: AbstractValue[];
    try {
      bounds = propagate(plan, box);
    } catch (e) {
      if (e instanceof Error && e.name === 'UnboundedError') {
        rt.dispose();
        continue; // nothing claimed
      }
      throw e;
    }
    // The logits: their buffer lives to the end of the pass (rt.trace reads every buffer after the
    // whole pass, where values sharing a buffer by liveness have overwritten earlier ones).
    const logits = rt.logits(points, POINTS);
    const out = bounds[plan.output]!;
    assert.equal(out.kind, 'range');
    if (out.kind !== 'range') continue;
    for (let k = 0; k < POINTS; k++)
      for (let j = 0; j < graph.classes; j++) {
        const v = logits[k * graph.classes + j]!;
        assert.ok(v >= out.lo[j]! && v <= out.hi[j]!, `graph ${g} (${graph.layers.map((l) => l.kind).join(' ')}), ε ${eps}, point ${k}: logit ${j} is ${v}, outside [${out.lo[j]}, ${out.hi[j]}]`);
        checked++;
        if (out.lo[j] === out.hi[j]) exact++;
      }
    rt.dispose();
  }
  process.stdout.write(`# verify bounds: ${checked} runtime logits inside their bounds (${exact} of them bounded to one float32)\n`);
  assert.ok(checked >= GRAPHS * POINTS, `only ${checked} logits checked`);
});
