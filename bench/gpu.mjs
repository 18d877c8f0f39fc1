// `npm run bench:gpu [-- --quick] [--gpu] [--shapes=4x512x512x32] [--out DIR]`: the benchmark in
// Node through Dawn (WebGPU). Fetches webgpu@0.6.2's dawn.node on demand (scripts/dawn.mjs),
// bundles bench/gpu.ts into bench/out/bench-gpu.mjs and runs it; it prints the tables and writes
// node-dawn.json into bench/out/results/ (git-ignored), or into DIR with --out (a committed
// record: bench/results/<machine>/). Without --gpu, Dawn uses Chromium's SwiftShader Vulkan
// driver where it is installed; with --gpu, the system's Vulkan driver.
import {spawnSync} from 'node:child_process';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {dawnPath} from '../scripts/dawn.mjs';
import {buildBench} from './build.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const addon = dawnPath({fetch: true});
await buildBench(path.join(here, 'out'), {browser: false});
const out = args.some(a => a === '--out' || a.startsWith('--out='))
  ? []
  : ['--out', path.join(here, 'out', 'results')];
const run = spawnSync(
  process.execPath,
  [path.join(here, 'out', 'bench-gpu.mjs'), ...args, ...out],
  {
    stdio: 'inherit',
    env: {...process.env, DAWN_NODE: addon},
  },
);
process.exit(run.status ?? 1);
