/**
 * runtime — the thing users ship: a .bnn file run by the WebAssembly XNOR-popcount kernels. No
 * tfjs here; everything this folder imports is dependency-free TypeScript (the format reader, the
 * model graph and its lowering, which the rest of bnn-edge shares rather than keeping a copy:
 * test/boundaries checks the list). This is the Node entry: it reads files (the .wasm builds, models
 * given as paths); browser.ts is the same API for browsers. See api.ts.
 */
import { nodeLoader } from './node_resource.js';
import { setResourceLoader } from './resource.js';

setResourceLoader(nodeLoader);

export * from './api.js';
