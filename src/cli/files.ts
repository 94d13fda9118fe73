/** Where the CLI finds the package's own files. */
import { fileURLToPath } from 'node:url';

/** The models shipped in the package's models/ directory. */
export const SHIPPED_MODELS = fileURLToPath(new URL('../../../models/', import.meta.url));
