import {registerKernel} from '@tensorflow/tfjs-core';

import {float64InstanceNormConfig} from '../shared/instance_norm';
import {float64InstanceNormGradConfig} from '../shared/instance_norm_grad';
import {cpuMemory} from './memory';

// The cpu backend ships with tfjs-core's usual bundles: registered at import.
registerKernel(float64InstanceNormConfig('cpu', cpuMemory));
registerKernel(float64InstanceNormGradConfig('cpu', cpuMemory));
