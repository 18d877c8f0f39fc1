/**
 * What runs a GPU backend's shaders, for planning: a CPU implementation
 * ('software': SwiftShader, llvmpipe, a fallback adapter; a handful of
 * threads, where the total work counts) or a 'gpu' (thousands of threads,
 * where the longest loop a thread runs counts). The WebGL and WebGPU kernels
 * each read it once per backend (kernels/webgl/device_class.ts,
 * kernels/webgpu/budget.ts).
 */
import {env} from '@tensorflow/tfjs-core';

export type DeviceClass = 'software' | 'gpu';

/**
 * tfjs flag forcing the plan of a device class on the WebGL and WebGPU
 * kernels: 'auto' (the default: by the backend's device), 'software' or
 * 'gpu'. The tests run the GPU plans on SwiftShader with it. Registered on
 * import.
 */
export const PLAN_FLAG = 'INSTANCE_NORM_PLAN';
if (!isRegistered()) env().registerFlag(PLAN_FLAG, () => 'auto');

/** The device class PLAN_FLAG forces, or null ('auto'). */
export function forcedDeviceClass(): DeviceClass | null {
  const forced = env().get(PLAN_FLAG);
  return forced === 'software' || forced === 'gpu' ? forced : null;
}

function isRegistered(): boolean {
  try {
    env().get(PLAN_FLAG);
    return true;
  } catch {
    return false;
  }
}
