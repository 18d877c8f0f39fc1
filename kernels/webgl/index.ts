import {registerKernelsWhenBackendExists} from '../../src/register';

import {instanceNormWebGLConfig} from './instance_norm';
import {instanceNormGradWebGLConfig} from './instance_norm_grad';

// Registered once a 'webgl' backend exists (see src/register.ts).
registerKernelsWhenBackendExists([instanceNormWebGLConfig, instanceNormGradWebGLConfig]);
