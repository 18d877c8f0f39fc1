import {registerKernelsWhenBackendExists} from '../../src/register';

import {instanceNormWebGPUConfig} from './instance_norm';
import {instanceNormGradWebGPUConfig} from './instance_norm_grad';

// Registered once a 'webgpu' backend exists (see src/register.ts).
registerKernelsWhenBackendExists([instanceNormWebGPUConfig, instanceNormGradWebGPUConfig]);
