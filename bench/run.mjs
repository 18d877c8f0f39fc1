// `npm run bench [-- --quick] [--gpu] [--chrome PATH] [--backends=webgl,cpu] [--shapes=8x64x64x32]
// [--no-training] [--train-size N] [--out DIR]`: bundles the page and its driver into bench/out/
// (git-ignored, bench/build.mjs), runs the driver (bench/driver.ts: headless Chromium through
// puppeteer-core), which prints the tables and writes chrome.json into bench/out/results/ (git-
// ignored), or into DIR with --out (a committed record: bench/results/<machine>/).
import {spawnSync} from 'node:child_process';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {buildBench} from './build.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
await buildBench(path.join(here, 'out'), {node: false});
const out = args.some(a => a === '--out' || a.startsWith('--out='))
  ? []
  : ['--out', path.join(here, 'out', 'results')];
const run = spawnSync(
  process.execPath,
  [path.join(here, 'out', 'bench-chromium.mjs'), ...args, ...out],
  {
    stdio: 'inherit',
  },
);
process.exit(run.status ?? 1);
