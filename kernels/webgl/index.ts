import {registerKernel} from '@tensorflow/tfjs-core';

import {instanceNormWebGLConfig} from './instance_norm';
import {instanceNormGradWebGLConfig} from './instance_norm_grad';

for (const config of [instanceNormWebGLConfig, instanceNormGradWebGLConfig]) {
  registerKernel(config);
}
