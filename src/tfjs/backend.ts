/**
 * tfjs — which TensorFlow.js backend trains and attacks the models, and the kernels bnn-edge adds
 * to it. Order of preference: tfjs-node (native TensorFlow, when installed — it is an optional
 * dependency that cannot install offline), then tfjs-backend-wasm with the project's conv
 * gradient kernels — and, when native/ was built (OpenBLAS), native conv kernels in their place —
 * then the pure-JS CPU backend (reference; slow).
 * Override with BNN_EDGE_TFJS_BACKEND=tensorflow|wasm|cpu; BNN_EDGE_NATIVE=0 keeps wasm pure.
 */
// The union package, not tfjs-core alone: only its Node bundle registers the gradient functions
// (tfjs-core's own gradient modules are extensionless ESM that Node cannot load). It shares
// tfjs-core's engine, so kernels registered here are seen by every op.
import * as tf from '@tensorflow/tfjs';
import { registerConvGradKernels } from './conv_grad_kernels.js';
import { nativeConv, registerNativeConvKernels } from './native_conv.js';

export type TfjsBackendName = 'tensorflow' | 'wasm' | 'cpu';

/** Why tfjs-node was not used, once its import was tried. */
let tfjsNodeMissing = 'not tried';

const loaders: Record<TfjsBackendName, () => Promise<boolean>> = {
  async tensorflow() {
    try {
      // Optional dependency; its import registers the "tensorflow" backend.
      await import('@tensorflow/tfjs-node' as string);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      tfjsNodeMissing = code === 'ERR_MODULE_NOT_FOUND' ? '@tensorflow/tfjs-node is not installed (an optional dependency)' : `@tensorflow/tfjs-node did not load: ${(e as Error).message.split('\n')[0]}`;
      return false;
    }
    return tf.findBackendFactory('tensorflow') !== null;
  },
  async wasm() {
    await import('@tensorflow/tfjs-backend-wasm');
    registerConvGradKernels('wasm');
    registerNativeConvKernels('wasm');
    return true;
  },
  async cpu() {
    return true; // bundled with @tensorflow/tfjs
  },
};

let current: Promise<TfjsBackendName> | undefined;

/**
 * Initializes tfjs once per process and returns the backend in use. `prefer` (or the
 * BNN_EDGE_TFJS_BACKEND environment variable) forces one backend; "auto" takes the fastest
 * available.
 */
export function initTfjs(prefer: TfjsBackendName | 'auto' = 'auto'): Promise<TfjsBackendName> {
  const forced = (process.env['BNN_EDGE_TFJS_BACKEND'] as TfjsBackendName | undefined) ?? (prefer === 'auto' ? undefined : prefer);
  if (current) return current;
  current = (async () => {
    // PROD silences tfjs's "install tfjs-node" banner and its per-op debug checks.
    tf.env().set('PROD', true);
    const order: TfjsBackendName[] = forced ? [forced] : ['tensorflow', 'wasm', 'cpu'];
    for (const name of order) {
      if (!(name in loaders)) throw new Error(`unknown tfjs backend "${name}" (expected tensorflow, wasm or cpu)`);
      if ((await loaders[name]()) && (await tf.setBackend(name))) {
        await tf.ready();
        return name;
      }
    }
    throw new Error(`tfjs backend ${order.join(' / ')} is not available`);
  })();
  return current;
}

/**
 * The backend in use, described for training records and reports: "wasm + OpenBLAS conv
 * kernels" when the native kernels serve the wasm backend.
 */
export function describeTfjsBackend(name: TfjsBackendName): string {
  return name === 'wasm' && nativeConv().module ? 'wasm + OpenBLAS conv kernels' : name;
}

/**
 * Which backend trains and why, for the user: what was chosen, what it runs on, and why a faster
 * one was not used (tfjs-node not installed, the native kernels not built and why).
 */
export function explainTfjsBackend(name: TfjsBackendName): string {
  const forced = process.env['BNN_EDGE_TFJS_BACKEND'];
  const native = nativeConv();
  switch (name) {
    case 'tensorflow':
      return `tfjs-node (native TensorFlow)${forced ? `, set by BNN_EDGE_TFJS_BACKEND=${forced}` : ''}`;
    case 'wasm':
      return (
        `WebAssembly (tfjs-backend-wasm)${native.module ? ' with the native OpenBLAS convolution kernels' : ''}: ` +
        `${forced ? `set by BNN_EDGE_TFJS_BACKEND=${forced}` : tfjsNodeMissing}` +
        (native.module ? '' : `; native kernels off: ${native.why}`)
      );
    case 'cpu':
      return `tfjs's pure-JS CPU backend (a slow reference)${forced ? `, set by BNN_EDGE_TFJS_BACKEND=${forced}` : ''}`;
  }
}

/** Switches to another (already loadable) backend, e.g. the CPU reference in parity tests. */
export async function useTfjsBackend(name: TfjsBackendName): Promise<void> {
  if (!(await loaders[name]())) throw new Error(`tfjs backend ${name} is not available`);
  if (!(await tf.setBackend(name))) throw new Error(`tfjs backend ${name} failed to initialize`);
  await tf.ready();
}

export { tf };
