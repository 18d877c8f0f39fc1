import {registerKernelsWhenBackendExists} from '../../src/register';
import {float64InstanceNormConfig} from '../shared/instance_norm';
import {float64InstanceNormGradConfig} from '../shared/instance_norm_grad';
import {wasmMemory} from './memory';

// Registered for 'wasm' at import (see src/register.ts): the package never
// loads @tensorflow/tfjs-backend-wasm itself.
registerKernelsWhenBackendExists([
  float64InstanceNormConfig('wasm', wasmMemory),
  float64InstanceNormGradConfig('wasm', wasmMemory),
]);
