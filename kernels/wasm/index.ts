import {registerKernels} from '../../src/register';
import {wasmInstanceNormConfig} from './instance_norm';
import {wasmInstanceNormGradConfig} from './instance_norm_grad';

// Registered for 'wasm' at import (see src/register.ts): the package never
// loads @tensorflow/tfjs-backend-wasm itself, and the SIMD module is
// instantiated on the first kernel call.
registerKernels([wasmInstanceNormConfig(), wasmInstanceNormGradConfig()]);
