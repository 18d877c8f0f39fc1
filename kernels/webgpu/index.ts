import {registerKernels} from '../../src/register';

import {instanceNormWebGPUConfig} from './instance_norm';
import {instanceNormGradWebGPUConfig} from './instance_norm_grad';

// Registered at import for the backend name 'webgpu', whether or not it is
// installed yet (see src/register.ts).
registerKernels([instanceNormWebGPUConfig, instanceNormGradWebGPUConfig]);
