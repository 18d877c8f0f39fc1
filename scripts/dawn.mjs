// WebGPU in Node through Dawn (npm `webgpu`, Google's Dawn as a Node addon).
// The addon is a 51 MB tarball, so it is never a dependency that `npm install`
// downloads: `dawnPath()` fetches `webgpu@0.6.2` on demand into a cache folder
// (`npm pack` from the registry; `npm test` does it before the suite, and
// `node scripts/dawn.mjs` does it alone) and `installWebGPU()` sets
// `navigator.gpu`. Without a GPU, Dawn finds Chromium's SwiftShader Vulkan
// driver (`swiftShaderEnv()`); on a machine with a GPU, its Vulkan driver.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import {createRequire} from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

export const DAWN_VERSION = '0.6.2';
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** The cache folder: $TFJS_IN_CACHE, else ~/.cache/tfjs-instance-norm. */
export function cacheDir() {
  return process.env.TFJS_IN_CACHE ?? path.join(os.homedir(), '.cache', 'tfjs-instance-norm');
}

/**
 * The path of dawn.node: $DAWN_NODE when set, else the cached copy, fetched
 * first when `fetch` is true. Returns null when it is absent and not fetched.
 */
export function dawnPath({fetch = true} = {}) {
  if (process.env.DAWN_NODE) return path.resolve(process.env.DAWN_NODE);
  const dir = path.join(cacheDir(), `webgpu-${DAWN_VERSION}`);
  const addon = path.join(
    dir,
    'package',
    'dist',
    `${process.platform}-${process.arch}`,
    'dawn.node',
  );
  if (fs.existsSync(addon) || !fetch) return fs.existsSync(addon) ? addon : null;
  fs.mkdirSync(dir, {recursive: true});
  const pack = spawnSync('npm', ['pack', '--silent', `webgpu@${DAWN_VERSION}`], {
    cwd: dir,
    encoding: 'utf8',
  });
  if (pack.status !== 0) {
    throw new Error(
      `npm pack webgpu@${DAWN_VERSION} failed: ${pack.stderr.trim() || `exit ${pack.status}`}`,
    );
  }
  const tarball = path.join(dir, pack.stdout.trim().split('\n').pop());
  const untar = spawnSync('tar', ['xzf', tarball, '-C', dir], {encoding: 'utf8'});
  fs.rmSync(tarball, {force: true});
  if (untar.status !== 0 || !fs.existsSync(addon)) {
    throw new Error(`unpacking webgpu@${DAWN_VERSION} gave no ${addon}: ${untar.stderr}`);
  }
  return addon;
}

/**
 * The environment that makes Dawn use Chromium's SwiftShader Vulkan driver on
 * a machine without a GPU ({} when that driver is absent or a GPU driver is
 * chosen already with VK_ICD_FILENAMES / VK_DRIVER_FILES).
 */
export function swiftShaderEnv() {
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) return {};
  if (!fs.existsSync(SWIFTSHADER_ICD)) return {};
  return {
    VK_ICD_FILENAMES: SWIFTSHADER_ICD,
    XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp',
  };
}

/**
 * Loads dawn.node from `addonPath` and sets `globalThis.navigator.gpu` (and
 * the GPU* globals) as tfjs-backend-webgpu expects. Timestamps are not
 * quantized, so `tf.time` kernel times are exact. Call before importing
 * @tensorflow/tfjs-backend-webgpu. The Vulkan driver is chosen by the
 * environment of the process (see `swiftShaderEnv`).
 */
export function installWebGPU(addonPath) {
  const {create, globals} = createRequire(import.meta.url)(addonPath);
  Object.assign(globalThis, globals);
  const gpu = create([
    'enable-dawn-features=allow_unsafe_apis',
    'disable-dawn-features=timestamp_quantization',
  ]);
  Object.defineProperty(globalThis, 'navigator', {
    value: {...(globalThis.navigator ?? {}), gpu},
    configurable: true,
    writable: true,
  });
  return gpu;
}

// `node scripts/dawn.mjs`: fetches Dawn when absent and prints its path.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(dawnPath());
}
