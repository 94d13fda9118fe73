import { test } from 'node:test';
import assert from 'node:assert/strict';
import { add, batchNorm, flatten, globalAvgPool2d, GraphBuilder, maxPool2d, quantConv2d, quantDense, Sequential } from '../src/model/build.js';
import { defineGraph, GraphError, graphToJson, inferShapes } from '../src/model/graph.js';
import { ARCHS, larqTutorial, paperModel, paperModelOf, presetGraph } from '../src/model/presets.js';

const mnist = { input: [28, 28, 1], classes: 10 } as const;

function rejects(json: unknown, layer: string | undefined, msg: RegExp): void {
  assert.throws(
    () => defineGraph(json),
    (e: unknown) => {
      assert.ok(e instanceof GraphError, `expected GraphError, got ${String(e)}`);
      assert.equal(e.layer, layer, e.message);
      assert.match(e.message, msg);
      return true;
    },
  );
}

test('the builder (Sequential and functional) and a JSON file describe the same graph', () => {
  const m = new Sequential({ name: 'tiny', ...mnist });
  m.add(quantConv2d({ filters: 8, kernelSize: 3, kernelQuantizer: 'ste_sign' }));
  m.add(maxPool2d({ poolSize: 2 }));
  m.add(batchNorm({ scale: false }));
  m.add(quantConv2d({ filters: 16, kernelSize: 3, padding: 'same', padValue: 1, inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_sign' }));
  m.add(flatten());
  m.add(quantDense({ units: 10, inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_sign' }));
  const built = m.build();
  // Keras's default names; every default filled in.
  assert.deepEqual(built.layers.map((l) => l.name), ['quant_conv2d', 'max_pooling2d', 'batch_normalization', 'quant_conv2d_1', 'flatten', 'quant_dense']);
  const fromJson = defineGraph({
    name: 'tiny',
    input: [28, 28, 1],
    classes: 10,
    layers: [
      { kind: 'quantConv2d', name: 'quant_conv2d', filters: 8, kernelSize: [3, 3], kernelQuantizer: 'ste_sign' },
      { kind: 'maxPool2d', name: 'max_pooling2d' },
      { kind: 'batchNorm', name: 'batch_normalization', scale: false },
      { kind: 'quantConv2d', name: 'quant_conv2d_1', filters: 16, kernelSize: 3, padding: 'same', padValue: 1, inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_sign' },
      { kind: 'flatten', name: 'flatten' },
      { kind: 'quantDense', name: 'quant_dense', units: 10, inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_sign' },
    ],
  });
  assert.deepEqual(fromJson, built);
  // The stored form reads back as itself.
  assert.deepEqual(defineGraph(JSON.parse(JSON.stringify(graphToJson(built)))), built);
  assert.deepEqual(inferShapes(built).map((s) => s.output.join('×')), ['26×26×8', '13×13×8', '13×13×8', '13×13×16', '1×1×2704', '1×1×10']);

  // Functional: a residual shortcut around a binary conv.
  const b = new GraphBuilder({ input: [32, 32, 3], classes: 10 });
  const x = quantConv2d({ filters: 24, kernelSize: 3, padding: 'same' }).apply(b.input);
  const y = batchNorm().apply(quantConv2d({ filters: 24, kernelSize: 3, padding: 'same', padValue: 0, inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_sign' }).apply(batchNorm().apply(x)));
  const g = b.build(quantDense({ units: 10 }).apply(flatten().apply(add().apply(y, x))));
  assert.deepEqual(g.layers.find((l) => l.kind === 'add')!.inputs, ['batch_normalization_1', 'quant_conv2d']);
});

test('invalid graphs are rejected before anything runs, naming the layer and the reason', () => {
  const conv = (o: Record<string, unknown>) => ({ kind: 'quantConv2d', filters: 4, kernelSize: 3, ...o });
  const head = [{ kind: 'flatten', name: 'f' }, { kind: 'quantDense', name: 'd', units: 10 }];
  rejects({ ...mnist, layers: [conv({ name: 'c', kernelSize: 40 }), ...head] }, 'c', /a 40×40 kernel does not fit its 28×28 input with 'valid' padding/);
  rejects({ ...mnist, layers: [conv({ name: 'c', inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_sign' }), ...head] }, 'c', /cannot binarize the image/);
  rejects({ ...mnist, layers: [conv({ name: 'c' }), conv({ name: 'b', inputQuantizer: 'ste_sign' }), ...head] }, 'b', /a binarized input needs binary weights/);
  rejects({ ...mnist, layers: [conv({ name: 'c' }), conv({ name: 'b', inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_sign', padding: 'same' }), ...head] }, 'b', /needs padValue: 1 pads with \+1/);
  rejects({ ...mnist, layers: [conv({ name: 'c', kind: 'quantConvolution' }), ...head] }, 'c', /kind must be null or one of/);
  rejects({ ...mnist, layers: [conv({ name: 'c', kernel_size: 3 }), ...head] }, 'c', /unknown field "kernel_size"/);
  rejects({ ...mnist, layers: [conv({ name: 'c', inputs: ['d'] }), ...head] }, 'c', /the graph has a cycle: c → f → d → c|comes after this layer/);
  rejects({ ...mnist, layers: [conv({ name: 'a', inputs: ['b'] }), conv({ name: 'b', inputs: ['a'] }), ...head] }, 'a', /the graph has a cycle: a → b → a/);
  rejects({ ...mnist, layers: [conv({ name: 'c', inputs: ['nowhere'] }), ...head] }, 'c', /input "nowhere" is not a layer/);
  rejects({ ...mnist, layers: [conv({ name: 'c' }), { kind: 'quantDense', name: 'd', units: 10 }] }, 'd', /needs a flat input, got 26×26×4: add a flatten/);
  rejects({ ...mnist, layers: [conv({ name: 'c' }), conv({ name: 'c' }), ...head] }, 'c', /the name is used twice/);
  rejects({ ...mnist, layers: [conv({ name: 'c' }), { kind: 'flatten', name: 'f' }, { kind: 'quantDense', name: 'd', units: 7 }] }, 'd', /logits must be 1×1×10/);
  rejects({ ...mnist, layers: [conv({ name: 'c' }), conv({ name: 'unused', inputs: ['c'] }), { kind: 'flatten', name: 'f', inputs: ['c'] }, { kind: 'quantDense', name: 'd', units: 10 }] }, 'unused', /never used/);
  rejects({ ...mnist, layers: [conv({ name: 'c' }), { kind: 'add', name: 'a', inputs: ['c', 'input'] }, ...head] }, 'a', /shapes differ/);
  rejects({ ...mnist, layers: [conv({ name: 'c', int8: true }), ...head] }, 'c', /int8 layers may only feed binarized inputs/);
  rejects({ input: [28, 28, 1], classes: 10, layers: 'none' }, undefined, /layers must be a non-empty list/);
  rejects({ input: [28, 28], classes: 10, layers: head }, undefined, /input must be \[height, width, channels\]/);
});

test("presets: the paper's models and Larq's tutorial network are graphs like any other", () => {
  for (const arch of ARCHS) {
    const g = paperModel(arch, 64);
    assert.deepEqual(paperModelOf(g), { arch, k: 64 });
    assert.deepEqual(presetGraph(`${arch.toLowerCase()}64`), g);
    assert.deepEqual(defineGraph(graphToJson(g)), g);
  }
  assert.equal(paperModelOf(larqTutorial()), null);
  const shapes = inferShapes(larqTutorial());
  assert.deepEqual(shapes.map((s) => s.output.join('×')).filter((_, i) => [0, 1, 3, 4, 6, 8, 9, 11].includes(i)), ['26×26×32', '13×13×32', '11×11×64', '5×5×64', '3×3×64', '1×1×576', '1×1×64', '1×1×10']);
  assert.equal(presetGraph('nope'), null);
});

test("the README's model graph is valid, and the builder example describes the same graph", async () => {
  const { readFileSync } = await import('node:fs');
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Your own model'));
  const json = /```json\n([\s\S]*?)```/.exec(section)![1]!;
  const graph = defineGraph(JSON.parse(json));
  // The TypeScript in the README, as written there.
  const b = new GraphBuilder({ name: 'my-bnn', input: [32, 32, 3], classes: 10 });
  const bin = { inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_sign' } as const;
  const x = batchNorm({ name: 'bn0' }).apply(quantConv2d({ name: 'stem', filters: 64, kernelSize: 3, padding: 'same', kernelQuantizer: 'ste_sign' }).apply(b.input));
  const y = batchNorm({ name: 'bn2' }).apply(quantConv2d({ name: 'conv1', filters: 64, kernelSize: 3, padding: 'same', padValue: 1, ...bin }).apply(batchNorm({ name: 'bn1' }).apply(x)));
  const z = globalAvgPool2d({ name: 'gap' }).apply(maxPool2d({ name: 'pool', poolSize: 2 }).apply(add({ name: 'res1' }).apply(y, x)));
  assert.deepEqual(b.build(quantDense({ name: 'logits', units: 10 }).apply(z)), graph);
  assert.ok(readme.includes("const z = globalAvgPool2d({ name: 'gap' }).apply(maxPool2d({ name: 'pool', poolSize: 2 }).apply(add({ name: 'res1' }).apply(y, x)));"), 'the README still shows this code');
});
