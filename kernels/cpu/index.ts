import {registerKernels} from '../../src/register';
import {float64InstanceNormConfig} from '../float64/instance_norm';
import {float64InstanceNormGradConfig} from '../float64/instance_norm_grad';
import {cpuMemory} from './memory';

// Registered at import like every backend's kernels (see src/register.ts),
// never over a kernel the app registered under the same name.
registerKernels([
  float64InstanceNormConfig('cpu', cpuMemory),
  float64InstanceNormGradConfig('cpu', cpuMemory),
]);
