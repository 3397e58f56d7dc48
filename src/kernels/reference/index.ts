// The reference backend: every kernel of types.ts in plain TypeScript, one file per kernel family.
import type { Kernels } from '../types.js';
import * as gemm from './gemm.js';
import * as elementwise from './elementwise.js';
import * as norms from './norms.js';
import * as attention from './attention.js';
import * as routing from './routing.js';
import * as optimizer from './optimizer.js';

export const referenceKernels: Kernels = { name: 'reference', ...gemm, ...elementwise, ...norms, ...attention, ...routing, ...optimizer };
