/** The runtime for browsers and other fetch-only hosts: the API of api.ts, loading by `fetch`. */
export * from './api.js';
