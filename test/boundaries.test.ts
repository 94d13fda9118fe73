/**
 * What the runtime may import, checked on the sources: src/runtime is what ships to devices (the
 * bnn-edge-runtime package is bundled from it), so everything it reaches must be dependency-free
 * TypeScript — the format reader and writer, the model graph and its one lowering, the seeded RNG —
 * never tfjs, training, attacks, evaluation, the CLI or the server. Node built-ins only in the
 * Node-only files (the file loader and the worker pool); nothing of Node from the browser entry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
/** `import … from 'x'`, `export … from 'x'`, `import('x')`, `import 'x'`. */
const IMPORT = /(?:^|\s)(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm;

/** Modules outside src/runtime the runtime may reach: each dependency-free. */
const SHARED_CORE = /^(format\/(errors|layout|layout_v1|read|read_v1|write|model|quantize|bits|crc32|views|check|info)|model\/(graph|params|presets|build|threshold|lower)|util\/rng)\.ts$/;
/** Packages the runtime may import: the generated wasm bindings, bundled into bnn-edge-runtime. */
const PACKAGES = new Set(['@assemblyscript/loader']);
/** The runtime's Node-only files, the only ones that may import Node built-ins. */
const NODE_ONLY = new Set(['runtime/node_resource.ts', 'runtime/pool.ts', 'runtime/pool_worker.ts']);

/** Every module reachable from `entries` by relative imports, with the bare specifiers each imports. */
function closure(entries: string[]): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const queue = entries.map((e) => join(SRC, e));
  while (queue.length) {
    const file = queue.pop()!;
    const name = relative(SRC, file);
    if (seen.has(name)) continue;
    const specs = [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((m) => (m[1] ?? m[2] ?? m[3])!);
    seen.set(name, specs.filter((s) => !s.startsWith('.')));
    for (const s of specs) if (s.startsWith('.')) queue.push(resolve(dirname(file), s).replace(/\.js$/, '.ts'));
  }
  return seen;
}

const runtimeFiles = readdirSync(join(SRC, 'runtime')).filter((f) => f.endsWith('.ts')).map((f) => `runtime/${f}`);

test('src/runtime reaches only itself and the dependency-free core (format, graph, lowering, RNG), and no package but the wasm bindings', () => {
  const reached = closure(runtimeFiles);
  assert.ok(reached.has('format/read.ts') && reached.has('model/lower.ts'), 'the walk follows imports');
  for (const [file, bare] of reached) {
    assert.ok(file.startsWith('runtime/') || SHARED_CORE.test(file), `the runtime reaches ${file}`);
    for (const spec of bare) {
      if (spec.startsWith('node:')) assert.ok(NODE_ONLY.has(file), `${file} imports ${spec}`);
      else assert.ok(PACKAGES.has(spec), `${file} imports the package ${spec}`);
    }
  }
});

test('the browser entry reaches nothing of Node', () => {
  for (const [file, bare] of closure(['runtime/browser.ts'])) assert.deepEqual(bare.filter((s) => s.startsWith('node:')), [], file);
});

test('the walk sees what it checks: a module of the harness reaches tfjs', () => {
  const reached = closure(['eval/demo.ts']);
  assert.ok([...reached.values()].flat().some((s) => s.startsWith('@tensorflow/')));
  assert.ok([...reached.keys()].some((f) => !f.startsWith('runtime/') && !SHARED_CORE.test(f)));
});
