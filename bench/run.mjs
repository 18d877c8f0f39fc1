// `npm run bench [-- --quick] [--backends=webgl,cpu] [--shapes=8x64x64x32]`: bundles bench/bench.ts
// into bench/out/ (git-ignored), serves it from http://localhost (WebGPU needs
// a secure origin), runs it in headless Chromium with the flags of the tests
// (scripts/chromium.cjs), prints the tables and writes bench/results.json.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';
import * as esbuild from 'esbuild';
import puppeteer from 'puppeteer-core';

const require = createRequire(import.meta.url);
const {CHROMIUM_FLAGS, chromiumPath} = require('../scripts/chromium.cjs');

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.join(here, 'out');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const noTraining = args.includes('--no-training');
const option = name => args.find(a => a.startsWith(`--${name}=`))?.split('=')[1];

const ALL_BACKENDS = ['webgl', 'webgpu', 'cpu', 'wasm'];
const backends = option('backends')?.split(',') ?? ALL_BACKENDS;
const GPU_BACKENDS = ['webgl', 'webgpu'];

const SHAPES = [
  {shape: [8, 64, 64, 32], dataFormat: 'channelsLast'},
  {shape: [1, 256, 256, 16], dataFormat: 'channelsLast'},
  {shape: [16, 16, 16, 128], dataFormat: 'channelsLast'},
  {shape: [2, 128, 128, 64], dataFormat: 'channelsLast'},
  {shape: [1, 32, 32, 8], dataFormat: 'channelsLast'},
  {shape: [2, 32, 64, 64], dataFormat: 'channelsFirst'},
];

// --shapes=8x64x64x32,2x32x64x64 narrows the shapes (by their dimensions).
const wantedShapes = option('shapes')?.split(',');
const config = {
  backends,
  shapes: wantedShapes ? SHAPES.filter(s => wantedShapes.includes(s.shape.join('x'))) : SHAPES,
  // --quick leaves out, per backend, the shapes whose composite takes seconds
  // per call here (SwiftShader's WebGPU, tfjs' cpu transposes).
  maxSize: quick ? {webgl: 1 << 20, webgpu: 1 << 19, cpu: 1 << 19, wasm: 1 << 20} : {},
  rounds: quick ? 3 : 5,
  batchMs: quick ? 60 : 200,
  maxCalls: quick ? 50 : 200,
  kernelTimeSamples: quick ? 0 : 3,
  training: {
    backends: noTraining ? [] : backends.filter(b => GPU_BACKENDS.includes(b)),
    // A step takes seconds on SwiftShader: few of them, and in --quick a
    // batch of 1 instead of 4.
    batch: quick ? 1 : 4,
    warmupSteps: 1,
    rounds: quick ? 1 : 3,
    steps: quick ? 1 : 2,
  },
};

const started = Date.now();
const loadAtStart = os.loadavg();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)}s`;

fs.mkdirSync(outDir, {recursive: true});
await esbuild.build({
  entryPoints: [path.join(here, 'bench.ts')],
  bundle: true,
  format: 'esm',
  target: 'es2020',
  outfile: path.join(outDir, 'bench.js'),
  logLevel: 'error',
});
// The wasm backend's binaries, fetched by the page from its own folder.
const wasmDist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/index.js'));
for (const name of fs.readdirSync(wasmDist).filter(n => n.endsWith('.wasm'))) {
  fs.copyFileSync(path.join(wasmDist, name), path.join(outDir, name));
}
fs.writeFileSync(
  path.join(outDir, 'index.html'),
  '<!doctype html><meta charset="utf-8"><title>tfjs-instance-norm bench</title>' +
    '<script type="module" src="bench.js"></script>\n',
);

const server = http.createServer((req, res) => {
  const name = new URL(req.url, 'http://localhost').pathname.slice(1) || 'index.html';
  const file = path.join(outDir, path.basename(name));
  if (!fs.existsSync(file)) {
    res.writeHead(404).end();
    return;
  }
  const type = file.endsWith('.js')
    ? 'text/javascript'
    : file.endsWith('.wasm')
      ? 'application/wasm'
      : 'text/html';
  res.writeHead(200, {'content-type': type}).end(fs.readFileSync(file));
});
await new Promise(resolve => server.listen(0, 'localhost', resolve));
const url = `http://localhost:${server.address().port}/`;

// The test flags verbatim (headless included), hence no puppeteer defaults.
const browser = await puppeteer.launch({
  executablePath: chromiumPath(),
  ignoreDefaultArgs: true,
  args: CHROMIUM_FLAGS,
  protocolTimeout: 0,
});
let output;
try {
  const page = await browser.newPage();
  page.on('console', message => {
    if (message.text().startsWith('[bench]')) console.error(`${elapsed()} ${message.text()}`);
  });
  page.on('pageerror', error => console.error(`page error: ${error.message}`));
  await page.goto(url);
  await page.waitForFunction('window.benchReady === true', {timeout: 60000});
  output = await page.evaluate(c => window.runBenchmark(c), config);
  output.browser = await browser.version();
} finally {
  await browser.close();
  server.close();
}

const ratio = (a, b) => a / b;
const cases = output.cases.map(c => ({
  ...c,
  ratios: {
    compositeOverFusedFwd: ratio(c.ms.compFwd, c.ms.fusedFwd),
    compositeOverFusedGrad: ratio(c.ms.compGrad, c.ms.fusedGrad),
    fusedFwdOverCopy: ratio(c.ms.fusedFwd, c.ms.copy),
    fusedGradOverCopy: ratio(c.ms.fusedGrad, c.ms.copy),
  },
}));

// The targets of the issue, checked on every measured case.
const TARGETS = [
  {backend: 'webgpu', what: 'composite/fused fwd+grad', key: 'compositeOverFusedGrad', atLeast: 20},
  {backend: 'webgl', what: 'composite/fused fwd+grad', key: 'compositeOverFusedGrad', atLeast: 5},
  {backend: 'webgpu', what: 'fused fwd+grad / copy', key: 'fusedGradOverCopy', atMost: 4},
  {backend: 'webgl', what: 'fused fwd+grad / copy', key: 'fusedGradOverCopy', atMost: 4},
  {backend: 'webgpu', what: 'fused fwd / copy', key: 'fusedFwdOverCopy', atMost: 2},
  {backend: 'webgl', what: 'fused fwd / copy', key: 'fusedFwdOverCopy', atMost: 2},
  {backend: 'cpu', what: 'composite/fused fwd', key: 'compositeOverFusedFwd', atLeast: 3},
  {backend: 'cpu', what: 'composite/fused fwd+grad', key: 'compositeOverFusedGrad', atLeast: 3},
  {backend: 'wasm', what: 'composite/fused fwd+grad', key: 'compositeOverFusedGrad', atLeast: 3},
];
const targets = TARGETS.filter(t => backends.includes(t.backend)).map(t => {
  const measured = cases.filter(c => c.backend === t.backend);
  const values = measured.map(c => c.ratios[t.key]);
  const worst = t.atLeast !== undefined ? Math.min(...values) : Math.max(...values);
  const met =
    measured.length > 0 &&
    values.every(v => (t.atLeast !== undefined ? v >= t.atLeast : v <= t.atMost));
  const fusedKernels = output.backends[t.backend]?.fusedKernels ?? false;
  return {
    ...t,
    target: t.atLeast !== undefined ? `>= ${t.atLeast}x` : `<= ${t.atMost}x`,
    worst,
    met,
    fusedKernels,
    perShape: measured.map(c => ({
      shape: c.shape,
      dataFormat: c.dataFormat,
      value: c.ratios[t.key],
    })),
  };
});

const fmt = v =>
  v === undefined ? '–' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
const shapeLabel = c => `${c.shape.join('x')}${c.dataFormat === 'channelsFirst' ? ' (NCHW)' : ''}`;
const lines = [];
lines.push(
  '| backend | shape | copy | fused fwd | composite fwd | fused fwd+grad | composite fwd+grad |' +
    ' composite/fused fwd | composite/fused fwd+grad | fused fwd/copy | fused fwd+grad/copy |',
);
lines.push('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
for (const c of cases) {
  const kernels = c.fusedKernels ? '' : ' (no fused kernels: fallback)';
  lines.push(
    `| ${c.backend}${kernels} | ${shapeLabel(c)} | ${fmt(c.ms.copy)} | ${fmt(c.ms.fusedFwd)} |` +
      ` ${fmt(c.ms.compFwd)} | ${fmt(c.ms.fusedGrad)} | ${fmt(c.ms.compGrad)} |` +
      ` ${fmt(c.ratios.compositeOverFusedFwd)}x | ${fmt(c.ratios.compositeOverFusedGrad)}x |` +
      ` ${fmt(c.ratios.fusedFwdOverCopy)}x | ${fmt(c.ratios.fusedGradOverCopy)}x |`,
  );
}
const withKernelMs = cases.filter(c => Object.keys(c.kernelMs).length > 0 && c.backend !== 'cpu');
if (withKernelMs.length) {
  lines.push('', 'tf.time kernel ms per call (GPU timestamps; one sample per call, median):', '');
  lines.push(
    '| backend | shape | copy | fused fwd | composite fwd | fused fwd+grad | composite fwd+grad |' +
      ' composite/fused fwd+grad | fused fwd+grad/copy |',
  );
  lines.push('|---|---|--:|--:|--:|--:|--:|--:|--:|');
  for (const c of withKernelMs) {
    const k = c.kernelMs;
    lines.push(
      `| ${c.backend} | ${shapeLabel(c)} | ${fmt(k.copy)} | ${fmt(k.fusedFwd)} | ${fmt(k.compFwd)} |` +
        ` ${fmt(k.fusedGrad)} | ${fmt(k.compGrad)} | ${fmt(k.compGrad / k.fusedGrad)}x |` +
        ` ${fmt(k.fusedGrad / k.copy)}x |`,
    );
  }
}
if (output.training.length) {
  lines.push(
    '',
    `Training step (conv net on ${config.training.batch}x64x64x3, ms per model.trainOnBatch):`,
    '',
  );
  lines.push('| backend | with the layer | with the composite norm | composite/layer |');
  lines.push('|---|--:|--:|--:|');
  for (const t of output.training) {
    const m = t.msPerStep;
    lines.push(
      `| ${t.backend} | ${fmt(m.fused)} | ${fmt(m.composite)} | ${fmt(m.composite / m.fused)}x |`,
    );
  }
}
lines.push('', 'Targets (worst shape):', '');
lines.push('| backend | ratio | target | worst measured | met |');
lines.push('|---|---|--:|--:|---|');
for (const t of targets) {
  const note = t.fusedKernels ? '' : ' (no fused kernels in this run)';
  lines.push(
    `| ${t.backend} | ${t.what} | ${t.target} | ${fmt(t.worst)}x | ${t.met ? 'yes' : 'NO'}${note} |`,
  );
}
if (output.skipped.length) lines.push('', `Skipped: ${output.skipped.join('; ')}`);

const results = {
  date: new Date().toISOString(),
  mode: quick ? 'quick' : 'full',
  browser: output.browser,
  userAgent: output.userAgent,
  // Other processes on the machine slow every variant; the ratios of one run
  // are what count. Load averages at the start and the end, for the record.
  loadAverage: {start: loadAtStart, end: os.loadavg()},
  machine: {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    platform: `${os.platform()} ${os.release()}`,
  },
  method:
    'per backend and shape, warm-up, then per round every variant in turn: K calls back to back, ' +
    'one sync (read back one element computed from the last result), wall ms / K; median of the rounds. ' +
    'kernelMs: tf.time kernel ms where the backend reports it. copy = tf.neg(x), one elementwise pass.',
  config,
  backends: output.backends,
  cases,
  training: output.training,
  targets,
  skipped: output.skipped,
  wallSeconds: (Date.now() - started) / 1000,
};
fs.writeFileSync(path.join(here, 'results.json'), JSON.stringify(results, null, 2) + '\n');
console.log(lines.join('\n'));
console.log(
  `\nms per call (median of ${config.rounds} rounds); ${results.browser}; ` +
    `wrote bench/results.json in ${elapsed()}`,
);
