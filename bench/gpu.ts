/**
 * The Node + Dawn bench's entry (`npm run bench:gpu`, or bundled as
 * bench-gpu.mjs by bench/build.mjs): WebGPU in Node through Dawn's addon,
 * on whatever Vulkan adapter Dawn finds.
 *
 *   DAWN_NODE=/path/dawn.node node bench-gpu.mjs [--quick] [--gpu] [--out DIR]
 *     [--shapes=4x512x512x32,...]
 *
 * Without --gpu, Dawn is pointed at Chromium's SwiftShader Vulkan driver
 * where it is installed (scripts/dawn.mjs swiftShaderEnv: nothing changes
 * where it is absent or VK_ICD_FILENAMES / VK_DRIVER_FILES is set); --gpu
 * leaves the choice of the Vulkan driver to the system. navigator.gpu must
 * exist before tfjs-backend-webgpu loads, hence the dynamic import.
 */
import {dawnPath, installWebGPU, swiftShaderEnv} from '../scripts/dawn.mjs';
import {parseOptions} from './config';

const options = parseOptions(process.argv.slice(2));
const addon = dawnPath({fetch: false});
if (!addon) {
  throw new Error('no dawn.node: set DAWN_NODE=/path/to/dawn.node (npm run bench:gpu fetches it)');
}
if (!options.gpu) Object.assign(process.env, swiftShaderEnv());
installWebGPU(addon);
const {runGpuBench} = await import('./gpu_bench');
await runGpuBench(options, addon);
