import {registerKernelsWhenBackendExists} from '../../src/register';

import {instanceNormWasmConfig} from './instance_norm';
import {instanceNormGradWasmConfig} from './instance_norm_grad';

// Registered for 'wasm' at import (see src/register.ts): the package never
// loads @tensorflow/tfjs-backend-wasm itself.
registerKernelsWhenBackendExists([instanceNormWasmConfig, instanceNormGradWasmConfig]);
