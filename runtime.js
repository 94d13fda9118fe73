// bnn-edge/runtime: the dependency-free runtime, from its own package (bnn-edge-runtime).
export * from 'bnn-edge-runtime';
