// bnn-edge/runtime for browsers and bundlers: the dependency-free runtime, from its own package
// (bnn-edge-runtime, bundled in this one). In Node the export map points at dist/src/runtime, the
// runtime the rest of bnn-edge uses, so its classes are the ones `bnn-edge` exports.
export * from 'bnn-edge-runtime';
