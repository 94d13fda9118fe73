// Builds the bnn-edge-runtime package from the repository's compiled runtime (dist/src/runtime,
// made by `tsc`): one ESM bundle per host (node: also reads files; browser: fetch only, no Node
// import), the two WebAssembly builds beside them, and one bundled .d.ts. Also copies the .wasm
// files beside dist/src/runtime so the repository's own runtime finds them the same way.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const pkg = dirname(fileURLToPath(import.meta.url));
const root = join(pkg, '..', '..');
const out = join(pkg, 'dist');
const wasm = ['bnn-simd.wasm', 'bnn-scalar.wasm'];

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const f of wasm) {
  copyFileSync(join(root, 'build', f), join(root, 'dist', 'src', 'runtime', f));
  copyFileSync(join(root, 'build', f), join(out, f));
}

const common = { bundle: true, format: 'esm', target: 'es2020', logLevel: 'warning', legalComments: 'none' };
await build({ ...common, entryPoints: [join(root, 'dist/src/runtime/index.js')], platform: 'node', outfile: join(out, 'bnn-edge-runtime.node.js') });
// platform neutral with no externals: a Node import reaching the browser entry fails the build.
await build({ ...common, entryPoints: [join(root, 'dist/src/runtime/browser.js')], platform: 'neutral', mainFields: ['module', 'main'], outfile: join(out, 'bnn-edge-runtime.browser.js') });

const bin = join(root, 'node_modules', '.bin', 'dts-bundle-generator');
const r = spawnSync(bin, ['--silent', '--no-banner', '--project', join(pkg, 'tsconfig.json'), '-o', join(out, 'index.d.ts'), join(root, 'src/runtime/api.ts')], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
