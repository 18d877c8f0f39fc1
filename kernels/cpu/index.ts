import {registerKernel} from '@tensorflow/tfjs-core';

import {instanceNormCpuConfig} from './instance_norm';
import {instanceNormGradCpuConfig} from './instance_norm_grad';

for (const config of [instanceNormCpuConfig, instanceNormGradCpuConfig]) {
  registerKernel(config);
}
