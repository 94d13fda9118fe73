import { getKernel, type KernelBackend, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs';

/**
 * Composes a backend's own kernels into a new kernel, the way tfjs backends do internally:
 * each step calls a registered kernel function directly (no engine, no tape), and every
 * intermediate is released when the scope closes. Only the returned TensorInfo survives.
 */
export class KernelScope {
  private readonly temps: TensorInfo[] = [];

  constructor(
    private readonly backend: KernelBackend,
    private readonly backendName: string,
  ) {}

  run(kernelName: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
    const config = getKernel(kernelName, this.backendName);
    if (!config) throw new Error(`kernel ${kernelName} is not registered for backend ${this.backendName}`);
    const out = config.kernelFunc({ inputs, attrs, backend: this.backend });
    if (Array.isArray(out)) throw new Error(`kernel ${kernelName} returned several outputs; KernelScope expects one`);
    this.temps.push(out);
    return out;
  }

  /** Releases every intermediate except `result`, which is returned to the caller. */
  close(result: TensorInfo): TensorInfo {
    for (const t of this.temps) if (t !== result) this.backend.disposeData(t.dataId);
    return result;
  }

  /** Releases everything (used when a kernel throws half-way). */
  abort(): void {
    for (const t of this.temps) this.backend.disposeData(t.dataId);
  }
}

/** Runs `body` in a KernelScope, releasing intermediates whether it returns or throws. */
export function withKernelScope(backend: KernelBackend, backendName: string, body: (s: KernelScope) => TensorInfo): TensorInfo {
  const scope = new KernelScope(backend, backendName);
  let result: TensorInfo;
  try {
    result = body(scope);
  } catch (e) {
    scope.abort();
    throw e;
  }
  return scope.close(result);
}
