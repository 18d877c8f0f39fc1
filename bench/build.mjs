// Bundles the benchmarks with esbuild, each into one file:
//   DIR/bench-gpu.mjs       the Node + Dawn bench (bench/gpu.ts; tfjs and the package
//                           inside; dawn.node loaded by path from $DAWN_NODE)
//   DIR/bench-chromium.mjs  the browser bench's driver (bench/driver.ts; puppeteer-core inside)
//   DIR/page/               the page it serves (bench/bench.ts bundled, index.html)
// `npm run bench` and `npm run bench:gpu` build into bench/out/; `npm run bench:bundle -- DIR`
// (`node bench/build.mjs DIR`) writes minified copies for a machine without node_modules,
// such as a GPU machine: only Node and dawn.node / Chromium are needed there.
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));

// Bundled CommonJS code (puppeteer's dependencies) calls require() for Node's
// own modules: give the ESM bundle one.
const NODE_BANNER =
  "import {createRequire as __benchRequire} from 'node:module';" +
  'const require = __benchRequire(import.meta.url);';

/** Builds the bundles into `dir`; `minify` for the ones carried elsewhere. */
export async function buildBench(dir, {minify = false, node = true, browser = true} = {}) {
  fs.mkdirSync(path.join(dir, 'page'), {recursive: true});
  const common = {bundle: true, format: 'esm', logLevel: 'error', minify, legalComments: 'none'};
  const nodeCommon = {...common, platform: 'node', target: 'node18', banner: {js: NODE_BANNER}};
  const builds = [];
  if (node) {
    builds.push(
      esbuild.build({
        ...nodeCommon,
        entryPoints: [path.join(here, 'gpu.ts')],
        outfile: path.join(dir, 'bench-gpu.mjs'),
      }),
    );
  }
  if (browser) {
    builds.push(
      esbuild.build({
        ...nodeCommon,
        entryPoints: [path.join(here, 'driver.ts')],
        outfile: path.join(dir, 'bench-chromium.mjs'),
      }),
      esbuild.build({
        ...common,
        entryPoints: [path.join(here, 'bench.ts')],
        target: 'es2020',
        outfile: path.join(dir, 'page', 'bench.js'),
      }),
    );
    // The wasm backend's binaries, fetched by the page from its own folder.
    const wasmDist = path.join(here, '../node_modules/@tensorflow/tfjs-backend-wasm/dist');
    for (const name of fs.readdirSync(wasmDist).filter(n => n.endsWith('.wasm'))) {
      fs.copyFileSync(path.join(wasmDist, name), path.join(dir, 'page', name));
    }
    fs.writeFileSync(
      path.join(dir, 'page', 'index.html'),
      '<!doctype html><meta charset="utf-8"><title>tfjs-instance-norm bench</title>' +
        '<script type="module" src="bench.js"></script>\n',
    );
  }
  await Promise.all(builds);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: node bench/build.mjs DIR');
  await buildBench(path.resolve(dir), {minify: true});
  for (const f of ['bench-gpu.mjs', 'bench-chromium.mjs', 'page/bench.js']) {
    const size = fs.statSync(path.join(dir, f)).size;
    console.log(`${path.join(dir, f)}  ${(size / 1e6).toFixed(1)} MB`);
  }
  console.log(
    `Node + Dawn:  DAWN_NODE=/path/dawn.node node ${dir}/bench-gpu.mjs --gpu --out OUT\n` +
      `Chromium:     CHROME=/path/chromium node ${dir}/bench-chromium.mjs --gpu --out OUT`,
  );
}
