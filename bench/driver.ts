/**
 * The browser bench's driver (Node): serves the bundled page (page/ beside
 * this file once bundled) from http://127.0.0.1 (WebGPU needs a secure
 * origin), runs it in headless Chromium through puppeteer-core, prints the
 * tables and, with --out DIR, writes them as DIR/chrome.json (nothing is
 * written without --out).
 *
 *   node bench-chromium.mjs [--quick] [--gpu] [--chrome PATH] [--out DIR]
 *     [--backends=webgl,webgpu,wasm,wasm-scalar] [--shapes=8x64x64x32,...] [--no-training]
 *     [--no-blocks] [--train-size N]
 *
 * Without --gpu: the SwiftShader flags of the tests (scripts/chromium.cjs) and
 * the SwiftShader targets; with --gpu: ANGLE on Vulkan and WebGPU on the real
 * adapter, every shape, kernel times, the training step at 256x256 and the
 * targets of a real GPU. Chromium: --chrome PATH, else $CHROME, else
 * $CHROME_BIN or /usr/bin/chromium. bench/build.mjs bundles this file.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import puppeteer, {type Page} from 'puppeteer-core';

import {CHROMIUM_FLAGS, CHROMIUM_GPU_FLAGS, chromiumPath} from '../scripts/chromium.cjs';
import {breakdownReport} from './breakdown_report';
import {browserConfig, parseOptions} from './config';
import {
  CHROME_GPU_TARGETS,
  CHROME_GPU_TRAINING_TARGETS,
  type BenchOutput,
  blockRatiosOf,
  checkTargets,
  emptyOutput,
  GPU_BLOCK_TARGETS,
  ratiosOf,
  report,
  SWIFTSHADER_TARGETS,
  type TargetResult,
} from './report';
import {familyReport} from './family_report';

const pageDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'page');
const options = parseOptions(process.argv.slice(2));
const config = browserConfig(options);
const outDir = options.out === undefined ? undefined : path.resolve(options.out);
const executablePath = options.chrome ?? process.env.CHROME ?? chromiumPath();
const flags = options.gpu ? CHROMIUM_GPU_FLAGS : CHROMIUM_FLAGS;

const started = Date.now();
const loadAtStart = os.loadavg();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)}s`;

const server = http.createServer((req, res) => {
  const name = new URL(req.url ?? '/', 'http://127.0.0.1').pathname.slice(1) || 'index.html';
  const file = path.join(pageDir, path.basename(name));
  if (!fs.existsSync(file)) {
    res.writeHead(404).end();
    return;
  }
  const type = file.endsWith('.js') ? 'text/javascript' : 'text/html';
  res.writeHead(200, {'content-type': type}).end(fs.readFileSync(file));
});
await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
const {port} = server.address() as {port: number};

console.error(`${executablePath} ${options.gpu ? '(GPU flags)' : '(SwiftShader flags)'}`);
// The flags verbatim (headless included), hence no puppeteer defaults.
const browser = await puppeteer.launch({
  executablePath,
  ignoreDefaultArgs: true,
  args: flags,
  protocolTimeout: 0,
  // A first start on a fresh GPU machine (shader caches, fontconfig) can take
  // longer than puppeteer's 30 s; BENCH_DUMPIO=1 shows the browser's stderr.
  timeout: 180000,
  // Without puppeteer's default args no about:blank is opened (a headless
  // shell then has no page target to wait for); the driver opens its page.
  waitForInitialPage: false,
  dumpio: process.env.BENCH_DUMPIO === '1',
});
const output = emptyOutput('');
const file = outDir === undefined ? undefined : path.join(outDir, 'chrome.json');
let browserVersion = '';

/** chrome.json from what is measured so far (written after each backend, with --out). */
function writeResults(): TargetResult[] {
  const targets = checkTargets(
    output.cases,
    options.gpu ? CHROME_GPU_TARGETS : SWIFTSHADER_TARGETS,
    output.training,
    options.gpu ? CHROME_GPU_TRAINING_TARGETS : [],
    output.blocks,
    options.gpu ? GPU_BLOCK_TARGETS : [],
  );
  if (file === undefined || outDir === undefined) return targets;
  const results = {
    date: new Date().toISOString(),
    mode: `${options.quick ? 'quick' : 'full'}${options.gpu ? ', GPU flags' : ', SwiftShader'}`,
    browser: browserVersion,
    executablePath,
    flags,
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
      'one sync (read back one element computed from the last result), wall ms / K; median of the ' +
      'rounds. kernelMs: tf.time kernel ms where the backend reports it. copy = tf.neg(x), one ' +
      'elementwise pass.',
    config,
    backends: output.backends,
    cases: output.cases.map(c => ({...c, ratios: ratiosOf(c)})),
    blocks: output.blocks.map(b => ({...b, ratios: blockRatiosOf(b)})),
    profiles: output.profiles,
    training: output.training,
    family: output.family,
    familyTraining: output.familyTraining,
    breakdown: output.breakdown,
    targets,
    skipped: output.skipped,
    errors: output.errors,
    wallSeconds: (Date.now() - started) / 1000,
  };
  fs.mkdirSync(outDir, {recursive: true});
  fs.writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  return targets;
}

/**
 * Opens the page afresh: one page per backend, so that `wasm-scalar` starts
 * tfjs' wasm backend with its SIMD flag off in a page where `wasm` never ran.
 */
async function openPage(): Promise<Page> {
  const page = await browser.newPage();
  page.on('console', message => {
    if (message.text().startsWith('[bench]')) console.error(`${elapsed()} ${message.text()}`);
  });
  page.on('pageerror', error => console.error(`page error: ${(error as Error).message ?? error}`));
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForFunction('window.benchReady === true', {timeout: 60000});
  return page;
}

try {
  browserVersion = await browser.version();
  // One backend at a time, chrome.json rewritten after each: a run cut short
  // (a time limit on the GPU machine) keeps what it measured.
  for (const backend of config.backends) {
    const page = await openPage();
    const part = await page.evaluate(
      c =>
        (window as unknown as {runBenchmark: (c: unknown) => Promise<BenchOutput>}).runBenchmark(c),
      {...config, backends: [backend]} as unknown,
    );
    await page.close();
    output.userAgent = part.userAgent;
    Object.assign(output.backends, part.backends);
    const keys = [
      'cases',
      'blocks',
      'profiles',
      'training',
      'family',
      'familyTraining',
      'breakdown',
      'skipped',
      'errors',
    ] as const;
    for (const key of keys) {
      (output[key] as unknown[]).push(...part[key]);
    }
    writeResults();
  }
} finally {
  await browser.close();
  server.close();
}

const targets = writeResults();
for (const [name, info] of Object.entries(output.backends)) {
  console.log(`${name}: ${JSON.stringify(info)}`);
}
console.log('');
console.log(report({...output, targets, rounds: config.rounds}).join('\n'));
console.log(familyReport(output.family, output.familyTraining).join('\n'));
for (const b of output.breakdown) console.log(['', ...breakdownReport(b)].join('\n'));
console.log(
  `\n${browserVersion}; ${options.gpu ? 'GPU flags' : 'SwiftShader'}; ` +
    `${file ? `wrote ${file}` : 'nothing written (--out DIR writes DIR/chrome.json)'} in ${elapsed()}`,
);
if (output.errors.length) process.exitCode = 1;
