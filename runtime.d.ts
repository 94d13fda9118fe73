export * from 'bnn-edge-runtime';
