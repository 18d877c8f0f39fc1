import {registerKernels} from '../../src/register';

import {instanceNormWebGLConfig} from './instance_norm';
import {instanceNormGradWebGLConfig} from './instance_norm_grad';

// Registered on import for the backend name 'webgl' (src/register.ts).
registerKernels([instanceNormWebGLConfig, instanceNormGradWebGLConfig]);
