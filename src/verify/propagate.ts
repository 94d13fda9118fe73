/**
 * Bound propagation over a model's execution plan — the steps the runtime runs (model/lower.ts),
 * not the graph they came from, so every threshold, padding and pool is bounded as it is computed.
 * Starts from the input box and gives every value an AbstractValue (domain.ts).
 */
import type { ExecutionPlan } from '../model/lower.js';
import { UnboundedError, type AbstractValue, type BitsValue, type RangeValue } from './domain.js';
import { bconvBounds, bitMaxPoolBounds, bitPadBounds, flattenBits, qconvThresholdBounds, quantizeU8Bounds, thresholdBounds } from './binary_steps.js';
import { accToF32Bounds, addBounds, chainBounds, convBounds, denseBounds, globalAvgPoolBounds, poolBounds } from './float_steps.js';

/** Propagation ran out of its time budget: the verdict is unknown. */
export class VerifyTimeout extends Error {
  override readonly name = 'VerifyTimeout';
}

/** Every value's bounds over the box, indexed by value id. `deadline` (performance.now()) is checked between steps. */
export function propagate(plan: ExecutionPlan, box: RangeValue, deadline = Infinity): AbstractValue[] {
  const values: AbstractValue[] = [];
  values[plan.input] = box;
  const range = (id: number, layer: string): RangeValue => {
    const v = values[id];
    if (v?.kind !== 'range') throw new UnboundedError(`${layer}: expected a numeric value, got ${v?.kind ?? 'nothing'}`);
    return v;
  };
  const bits = (id: number, layer: string): BitsValue => {
    const v = values[id];
    if (v?.kind !== 'bits') throw new UnboundedError(`${layer}: expected a bits value, got ${v?.kind ?? 'nothing'}`);
    return v;
  };
  for (const s of plan.steps) {
    if (performance.now() > deadline) throw new VerifyTimeout(`time limit reached at layer ${s.layer}`);
    const shape = plan.values[s.output]!.shape;
    const inputValue = plan.values[s.inputs[0]!]!;
    const a = s.inputs[0]!;
    switch (s.op) {
      case 'quantizeU8':
        values[s.output] = quantizeU8Bounds(range(a, s.layer), shape);
        break;
      case 'qconvThreshold':
        values[s.output] = qconvThresholdBounds(s, range(a, s.layer), shape);
        break;
      case 'threshold':
        values[s.output] = thresholdBounds(s, range(a, s.layer), inputValue.form === 'f32', shape);
        break;
      case 'bitPad':
        values[s.output] = bitPadBounds(s, bits(a, s.layer), shape);
        break;
      case 'bconv':
        values[s.output] = bconvBounds(s, bits(a, s.layer), shape);
        break;
      case 'bitMaxPool':
        values[s.output] = bitMaxPoolBounds(s, bits(a, s.layer), shape);
        break;
      case 'conv':
        values[s.output] = convBounds(s, range(a, s.layer), shape);
        break;
      case 'dense':
        values[s.output] = denseBounds(s, range(a, s.layer), shape);
        break;
      case 'accToF32':
        values[s.output] = accToF32Bounds(inputValue.acc!, range(a, s.layer), s.layer);
        break;
      case 'chain':
        values[s.output] = chainBounds(s, range(a, s.layer));
        break;
      case 'maxPool':
      case 'avgPool':
        values[s.output] = poolBounds(s.op, s.g, range(a, s.layer), shape, s.layer);
        break;
      case 'globalAvgPool':
        values[s.output] = globalAvgPoolBounds(range(a, s.layer), shape, s.layer);
        break;
      case 'add':
        values[s.output] = addBounds(range(a, s.layer), range(s.inputs[1]!, s.layer), s.layer);
        break;
      case 'flatten': {
        // The same elements in the same (h, w, c) order; packed bits are repacked over the features.
        const v = values[a];
        if (!v) throw new UnboundedError(`${s.layer}: flatten of an unknown value`);
        values[s.output] = v.kind === 'bits' ? flattenBits(v, shape) : { ...v, shape };
        break;
      }
      default: {
        const unknown: { op: string } = s;
        throw new UnboundedError(`${unknown.op}: a step the verifier does not know`);
      }
    }
  }
  return values;
}
