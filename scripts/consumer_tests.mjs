// `npm run test:consumers`: the packed tarball, exactly as published, in the
// three ways users get it. `npm pack` builds it (prepack); then, in temporary
// folders under the OS temp dir:
//
//   (1) node: install it with only @tensorflow/tfjs-core + -backend-cpu (and
//       the required -layers peer); import and require it; type-check an ESM
//       and a CommonJS consumer under moduleResolution node16.
//   (2) bundler: install it with the umbrella @tensorflow/tfjs, bundle an app
//       with esbuild and run it in headless Chromium (webgl and cpu).
//   (3) script tag: tf.min.js + dist/tfjs-instance-norm.min.js from the
//       installed package in headless Chromium; op checks and a training step.
//
// Writes {passed, failed, skipped} to .tmp/results/consumer.json for
// scripts/test.mjs. KEEP_CONSUMER_TMP=1 keeps the temp folders for debugging.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import {createRequire} from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import * as esbuild from 'esbuild';

const require = createRequire(import.meta.url);
const {CHROMIUM_FLAGS, chromiumPath} = require('./chromium.cjs');

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CONSUMER = path.join(ROOT, 'test/consumer');
const TFJS_VERSION = '4.22.0';
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

const counts = {passed: 0, failed: 0, skipped: 0};
function record(name, ok, detail = '') {
  counts[ok ? 'passed' : 'failed']++;
  console.log(`${ok ? 'ok' : 'FAIL'} - ${name}${detail && !ok ? ` (${detail})` : ''}`);
}
function recordAll(results) {
  for (const r of results) record(r.name, r.ok, r.detail);
}

function run(cmd, args, cwd) {
  const result = spawnSync(cmd, args, {cwd, encoding: 'utf8', maxBuffer: 64 << 20});
  if (result.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} (in ${cwd}) exited with ${result.status}:\n` +
        `${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

/** A folder with its own package.json and the given packages installed. */
function makeApp(dir, packages) {
  fs.mkdirSync(dir, {recursive: true});
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({name: path.basename(dir), private: true, version: '0.0.0'}, null, 2),
  );
  run('npm', ['install', ...NPM_FLAGS, ...packages], dir);
  for (const file of ['checks.mjs']) {
    fs.copyFileSync(path.join(CONSUMER, file), path.join(dir, file));
  }
  fs.copyFileSync(path.join(work, 'reference.mjs'), path.join(dir, 'reference.mjs'));
}

function installed(dir, name) {
  return fs.existsSync(path.join(dir, 'node_modules', name, 'package.json'));
}

/** Runs a step; an exception counts as one failure and the other steps still run. */
async function step(name, body) {
  console.log(`\n--- ${name}`);
  try {
    await body();
  } catch (error) {
    record(`${name}: completes`, false, error.stack || String(error));
  }
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-instance-norm-consumers-'));
let tarball = null;

await step('pack', async () => {
  // The independent float64 reference of the Karma suite, as plain JS.
  await esbuild.build({
    entryPoints: [path.join(ROOT, 'test/reference.ts')],
    format: 'esm',
    outfile: path.join(work, 'reference.mjs'),
    logLevel: 'warning',
  });
  // prepack (the build) prints before npm's JSON.
  const out = run('npm', ['pack', '--json', '--pack-destination', work], ROOT);
  const packed = JSON.parse(out.slice(out.search(/^\[/m)));
  tarball = path.join(work, packed[0].filename);
  const files = packed[0].files.map(f => f.path);
  const required = [
    'package.json',
    'README.md',
    'CHANGELOG.md',
    'LICENSE',
    'dist/esm/index.js',
    'dist/esm/package.json',
    'dist/cjs/index.cjs',
    'dist/types/src/index.d.ts',
    'dist/tfjs-instance-norm.min.js',
  ];
  const missing = required.filter(f => !files.includes(f));
  record(
    'the tarball holds the builds, types, README, CHANGELOG and LICENSE',
    missing.length === 0,
    `missing ${missing.join(', ')}`,
  );
  const strays = files.filter(f => !required.includes(f) && !/^dist\//.test(f));
  record(
    'the tarball holds nothing else outside dist/',
    strays.length === 0,
    `unexpected ${strays.join(', ')}`,
  );
  console.log(`packed ${packed[0].filename}: ${files.length} files, ${packed[0].size} bytes`);
});

await step('(1) node with tfjs-core + tfjs-backend-cpu', async () => {
  if (tarball == null) throw new Error('no tarball');
  const dir = path.join(work, 'node');
  makeApp(dir, [
    tarball,
    `@tensorflow/tfjs-core@${TFJS_VERSION}`,
    `@tensorflow/tfjs-backend-cpu@${TFJS_VERSION}`,
    `@tensorflow/tfjs-layers@${TFJS_VERSION}`,
  ]);
  const absent = [
    '@tensorflow/tfjs',
    '@tensorflow/tfjs-backend-webgl',
    '@tensorflow/tfjs-backend-webgpu',
  ].filter(p => installed(dir, p));
  record(
    'node: no other tfjs package was installed (the backends are optional peers)',
    absent.length === 0,
    `installed ${absent.join(', ')}`,
  );
  for (const file of ['node_app.mjs', 'node_app.cjs', 'types_esm.mts', 'types_cjs.cts']) {
    fs.copyFileSync(path.join(CONSUMER, file), path.join(dir, file));
  }
  for (const app of ['node_app.mjs', 'node_app.cjs']) {
    const lines = run(process.execPath, [app], dir).trim().split('\n');
    recordAll(JSON.parse(lines[lines.length - 1]));
  }
  fs.writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'node16',
        moduleResolution: 'node16',
        target: 'es2020',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: [],
      },
      files: ['types_esm.mts', 'types_cjs.cts'],
    }),
  );
  const tsc = spawnSync(
    process.execPath,
    [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'],
    {cwd: dir, encoding: 'utf8'},
  );
  record(
    'node: an ESM and a CommonJS TypeScript consumer type-check (node16)',
    tsc.status === 0,
    tsc.stdout + tsc.stderr,
  );
});

let browserDir = null;
await step('(2)/(3) install with the umbrella @tensorflow/tfjs', async () => {
  if (tarball == null) throw new Error('no tarball');
  const dir = path.join(work, 'browser');
  makeApp(dir, [tarball, `@tensorflow/tfjs@${TFJS_VERSION}`]);
  fs.copyFileSync(path.join(CONSUMER, 'bundled_app.mjs'), path.join(dir, 'bundled_app.mjs'));
  const bundle = await esbuild.build({
    entryPoints: [path.join(dir, 'bundled_app.mjs')],
    absWorkingDir: dir,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    metafile: true,
    logLevel: 'warning',
    outfile: path.join(dir, 'app.js'),
  });
  // Two copies of tfjs-core would be two kernel registries.
  const cores = new Set(
    Object.keys(bundle.metafile.inputs)
      .map(p => p.match(/^(.*node_modules\/@tensorflow\/tfjs-core)\//)?.[1])
      .filter(Boolean),
  );
  record(
    'bundler: the app bundle holds exactly one copy of tfjs-core',
    cores.size === 1,
    [...cores].join(', '),
  );
  // "sideEffects": a bare import must keep the kernel registration.
  fs.writeFileSync(path.join(dir, 'bare_import.mjs'), "import 'tfjs-instance-norm';\n");
  const bare = await esbuild.build({
    entryPoints: [path.join(dir, 'bare_import.mjs')],
    absWorkingDir: dir,
    bundle: true,
    format: 'esm',
    minify: true,
    write: false,
    external: ['@tensorflow/*'],
    logLevel: 'warning',
  });
  const text = bare.outputFiles[0].text;
  record(
    'bundler: a bare import keeps the kernel registration (sideEffects)',
    text.includes('registerKernel') && text.includes('InstanceNormGrad'),
  );
  browserDir = dir;
});

await step('(2)/(3) headless Chromium', async () => {
  if (browserDir == null) throw new Error('the browser app was not installed');
  const dir = browserDir;
  const routes = {
    '/bundled.html': {
      file: null,
      body: '<!doctype html><meta charset="utf-8"><script src="/app.js"></script>',
    },
    '/app.js': {file: path.join(dir, 'app.js')},
    '/script_tag.html': {file: path.join(CONSUMER, 'script_tag.html')},
    '/tf.min.js': {file: path.join(dir, 'node_modules/@tensorflow/tfjs/dist/tf.min.js')},
    // From the installed tarball: the file users get from a CDN.
    '/tfjs-instance-norm.min.js': {
      file: path.join(dir, 'node_modules/tfjs-instance-norm/dist/tfjs-instance-norm.min.js'),
    },
    '/checks.mjs': {file: path.join(dir, 'checks.mjs')},
    '/reference.mjs': {file: path.join(dir, 'reference.mjs')},
  };
  const types = {'.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript'};
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url, 'http://localhost').pathname;
    const route = routes[pathname];
    if (pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    const body = route.file ? fs.readFileSync(route.file) : route.body;
    res.writeHead(200, {'content-type': types[path.extname(pathname)]}).end(body);
  });
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://localhost:${server.address().port}`;
  const puppeteer = require('puppeteer-core');
  const browser = await puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: CHROMIUM_FLAGS.filter(f => f !== '--headless'),
  });
  try {
    for (const [label, page] of [
      ['(2) bundled app', '/bundled.html'],
      ['(3) script tag', '/script_tag.html'],
    ]) {
      const tab = await browser.newPage();
      const errors = [];
      tab.on('pageerror', error => errors.push(String(error)));
      tab.on('console', message => {
        if (message.type() === 'error') errors.push(message.text());
      });
      await tab.goto(origin + page);
      await tab.waitForFunction('window.consumerResults', {timeout: 300000});
      const results = await tab.evaluate(() => globalThis.consumerResults);
      recordAll(results);
      record(
        `${label}: produced results without page errors`,
        results.length > 0 && errors.length === 0,
        errors.join('; '),
      );
      await tab.close();
    }
  } finally {
    await browser.close();
    server.close();
  }
});

if (process.env.KEEP_CONSUMER_TMP) {
  console.log(`kept ${work}`);
} else {
  fs.rmSync(work, {recursive: true, force: true});
}
fs.mkdirSync(path.join(ROOT, '.tmp/results'), {recursive: true});
fs.writeFileSync(path.join(ROOT, '.tmp/results/consumer.json'), JSON.stringify(counts));
console.log(
  `consumers: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`,
);
process.exit(counts.failed ? 1 : 0);
