import {registerKernel} from '@tensorflow/tfjs-core';

import {instanceNormWebGPUConfig} from './instance_norm';
import {instanceNormGradWebGPUConfig} from './instance_norm_grad';

for (const config of [instanceNormWebGPUConfig, instanceNormGradWebGPUConfig]) {
  registerKernel(config);
}
