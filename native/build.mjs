// Builds the optional native training accelerator (native/conv_blas.c) into build/bnn-native.node.
// Needs a C compiler, Node's headers and OpenBLAS (Debian: apt-get install libopenblas-dev).
// When any is missing it says which and exits 0: bnn-edge then trains on WebAssembly alone.
// BNN_EDGE_NATIVE=0 skips the build. A library newer than its source is kept (npm runs this at
// install and again in the repository's build).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'build', 'bnn-native.node');
const skip = (why) => {
  rmSync(out, { force: true }); // an earlier build would no longer match the source or the setting
  console.log(`bnn-edge: native training kernels not built (${why}); training and attacks run on WebAssembly`);
  process.exit(0);
};

if (process.env.BNN_EDGE_NATIVE === '0') skip('BNN_EDGE_NATIVE=0');
const mtime = (f) => statSync(f).mtimeMs;
if (existsSync(out) && mtime(out) > Math.max(mtime(join(root, 'native', 'conv_blas.c')), mtime(fileURLToPath(import.meta.url)))) {
  console.log(`bnn-edge: ${out} is up to date`);
  process.exit(0);
}
const cc = process.env.CC || 'cc';
if (spawnSync(cc, ['--version'], { stdio: 'ignore' }).status !== 0) skip(`no C compiler "${cc}"`);
const nodeInclude = [join(dirname(process.execPath), '..', 'include', 'node'), process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node')].find(
  (d) => d && existsSync(join(d, 'node_api.h')),
);
if (!nodeInclude) skip("Node's headers (node_api.h) not found");
const cblas = ['/usr/include/cblas.h', '/usr/include/x86_64-linux-gnu/cblas.h', '/usr/include/aarch64-linux-gnu/cblas.h', '/usr/include/openblas/cblas.h'].find(existsSync);
if (!cblas) skip('OpenBLAS headers not found: apt-get install libopenblas-dev');

mkdirSync(dirname(out), { recursive: true });
// Compiled beside the target and renamed over it: a running process that has the old library
// mapped keeps its own copy, where writing into the file in place would corrupt it.
const tmp = `${out}.tmp-${process.pid}`;
const args = ['-O2', '-std=c11', '-fPIC', '-shared', '-Wall', '-Werror', `-I${nodeInclude}`, `-I${dirname(cblas)}`, join(root, 'native', 'conv_blas.c'), '-o', tmp, '-lopenblas'];
const r = spawnSync(cc, args, { stdio: 'inherit' });
if (r.status !== 0) {
  rmSync(tmp, { force: true });
  skip(`${cc} failed (command: ${cc} ${args.join(' ')})`);
}
renameSync(tmp, out);
console.log(`bnn-edge: built ${out} (OpenBLAS convolution kernels)`);
