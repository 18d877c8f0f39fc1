// `npm run test:consumers`: the packed tarball, exactly as published, in the
// ways users get it. `npm pack` builds it (prepack); then, in temporary
// folders under the OS temp dir, each app installs its tfjs packages FIRST and
// THEN the tarball, with a plain `npm install` (no --force, no
// --legacy-peer-deps), as an app adding the package does:
//
//   (1) node: only @tensorflow/tfjs-core + -backend-cpu (and the required
//       -layers peer), of the oldest version of the matrix; import (package before the backend) and require
//       (backend before the package); type-check an ESM and a CommonJS
//       consumer under moduleResolution node16.
//   (2) the version matrix: for each tfjs version in TFJS_MATRIX (the oldest
//       the peer ranges allow, 4.21.0, 4.22.0) an app on the umbrella
//       @tensorflow/tfjs (plus tfjs-backend-webgpu where its range allows):
//       `npm ls` shows one tfjs-core; values and gradients against float64 in
//       Node (cpu); an esbuild-bundled app in headless Chromium (webgl, cpu,
//       and webgpu on 4.22); (3) a script-tag page (tf.min.js of that version +
//       dist/tfjs-instance-norm.min.js) in headless Chromium.
//   (4) Node with WebGPU through Dawn (npm `webgpu`) on Chromium's SwiftShader
//       Vulkan driver. Dawn is not downloaded here: .ci/run fetches it into
//       the cache (scripts/dawn.mjs); without it the test counts as skipped.
//
// npm's own cache serves the matrix's repeated installs (--prefer-offline).
// Writes {passed, failed, skipped} to .tmp/results/consumer.json for
// scripts/test.mjs. KEEP_CONSUMER_TMP=1 keeps the temp folders for debugging;
// TFJS_MATRIX=4.22.0,... overrides the versions.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import {createRequire} from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import * as esbuild from 'esbuild';

import {dawnPath, swiftShaderEnv} from './dawn.mjs';

const require = createRequire(import.meta.url);
const {CHROMIUM_FLAGS, chromiumPath} = require('./chromium.cjs');

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CONSUMER = path.join(ROOT, 'test/consumer');
const TFJS_VERSION = '4.22.0';
/** The oldest version the peer ranges allow, the one before the newest, the newest. */
const TFJS_MATRIX = (process.env.TFJS_MATRIX ?? '4.10.0,4.21.0,4.22.0').split(',');
const OLDEST = TFJS_MATRIX[0];
/** tfjs-backend-webgpu before 4.22 does not start in current Chromium (peer range >=4.22.0). */
const WEBGPU_FROM = '4.22.0';
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

const counts = {passed: 0, failed: 0, skipped: 0};
function skip(name, why) {
  counts.skipped++;
  console.log(`skip - ${name} (${why})`);
}
function record(name, ok, detail = '') {
  counts[ok ? 'passed' : 'failed']++;
  console.log(`${ok ? 'ok' : 'FAIL'} - ${name}${detail && !ok ? ` (${detail})` : ''}`);
}
function recordAll(results) {
  for (const r of results) record(r.name, r.ok, r.detail);
}

function run(cmd, args, cwd, env = {}) {
  const result = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env: {...process.env, ...env},
  });
  if (result.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} (in ${cwd}) exited with ${result.status}:\n` +
        `${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

/** Runs a Node app in `dir` that prints its results as JSON on its last line; records them. */
function runNodeApp(dir, args, env) {
  const lines = run(process.execPath, args, dir, env).trim().split('\n');
  recordAll(JSON.parse(lines[lines.length - 1]));
}

/**
 * A folder with its own package.json: the tfjs `packages` installed first,
 * then the tarball, each with a plain `npm install`, as an app adds it.
 */
function makeApp(dir, packages) {
  fs.mkdirSync(dir, {recursive: true});
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({name: path.basename(dir), private: true, version: '0.0.0'}, null, 2),
  );
  const start = Date.now();
  run('npm', ['install', ...NPM_FLAGS, ...packages], dir);
  run('npm', ['install', ...NPM_FLAGS, tarball], dir);
  console.log(`installed ${packages.join(' ')}, then the tarball: ${seconds(start)}`);
  for (const file of ['checks.mjs']) {
    fs.copyFileSync(path.join(CONSUMER, file), path.join(dir, file));
  }
  fs.copyFileSync(path.join(work, 'reference.mjs'), path.join(dir, 'reference.mjs'));
}

function installed(dir, name) {
  return fs.existsSync(path.join(dir, 'node_modules', name, 'package.json'));
}

const seconds = start => `${((Date.now() - start) / 1000).toFixed(1)} s`;

/** Runs a step; an exception counts as one failure and the other steps still run. */
async function step(name, body) {
  console.log(`\n--- ${name}`);
  const start = Date.now();
  try {
    await body();
  } catch (error) {
    record(`${name}: completes`, false, error.stack || String(error));
  }
  console.log(`(${name}: ${seconds(start)})`);
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

await step(`(1) node with tfjs-core + tfjs-backend-cpu ${OLDEST}`, async () => {
  if (tarball == null) throw new Error('no tarball');
  const dir = path.join(work, 'node');
  makeApp(dir, [
    `@tensorflow/tfjs-core@${OLDEST}`,
    `@tensorflow/tfjs-backend-cpu@${OLDEST}`,
    `@tensorflow/tfjs-layers@${OLDEST}`,
  ]);
  const absent = [
    '@tensorflow/tfjs',
    '@tensorflow/tfjs-backend-webgl',
    '@tensorflow/tfjs-backend-webgpu',
  ].filter(p => installed(dir, p));
  record(
    'node: no other tfjs package was installed (the backends are not peers: never imported)',
    absent.length === 0,
    `installed ${absent.join(', ')}`,
  );
  for (const file of ['node_app.mjs', 'node_app.cjs', 'types_esm.mts', 'types_cjs.cts']) {
    fs.copyFileSync(path.join(CONSUMER, file), path.join(dir, file));
  }
  for (const app of ['node_app.mjs', 'node_app.cjs']) runNodeApp(dir, [app]);
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

/** `a` >= `b` for plain x.y.z versions. */
function atLeast(a, b) {
  const [pa, pb] = [a, b].map(v => v.split('.').map(Number));
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] > pb[i];
  return true;
}

/** The app of the matrix for one tfjs version; its browser pages for the Chromium step. */
async function matrixApp(version) {
  const dir = path.join(work, `tfjs-${version}`);
  const webgpu = atLeast(version, WEBGPU_FROM);
  makeApp(dir, [
    `@tensorflow/tfjs@${version}`,
    ...(webgpu ? [`@tensorflow/tfjs-backend-webgpu@${version}`] : []),
  ]);
  // One tfjs-core: two would be two kernel registries.
  const ls = spawnSync('npm', ['ls', '--all', '--parseable', '@tensorflow/tfjs-core'], {
    cwd: dir,
    encoding: 'utf8',
  });
  const cores = new Set(ls.stdout.trim().split('\n').filter(Boolean));
  const core = JSON.parse(
    fs.readFileSync(path.join(dir, 'node_modules/@tensorflow/tfjs-core/package.json'), 'utf8'),
  ).version;
  record(
    `tfjs ${version}: npm ls shows one @tensorflow/tfjs-core (${core}) and no problem`,
    ls.status === 0 && cores.size === 1 && core === version,
    `exit ${ls.status}, ${[...cores].join(', ')} ${ls.stderr}`,
  );
  for (const file of ['node_umbrella.mjs', 'bundled_app.mjs', 'script_tag.html']) {
    fs.copyFileSync(path.join(CONSUMER, file), path.join(dir, file));
  }
  runNodeApp(dir, ['node_umbrella.mjs']);

  const backends = [...(webgpu ? ['webgpu'] : []), 'webgl', 'cpu'];
  fs.writeFileSync(
    path.join(dir, 'entry.mjs'),
    (webgpu ? "import '@tensorflow/tfjs-backend-webgpu';\n" : '') +
      "import {run} from './bundled_app.mjs';\n" +
      `window.consumerResults = run(${JSON.stringify(backends)}).catch(error => [\n` +
      `  {name: 'bundled app (tfjs ${version}): runs', ok: false, detail: String(error)},\n]);\n`,
  );
  const bundle = await esbuild.build({
    entryPoints: [path.join(dir, 'entry.mjs')],
    absWorkingDir: dir,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    metafile: true,
    logLevel: 'warning',
    outfile: path.join(dir, 'app.js'),
  });
  const bundledCores = new Set(
    Object.keys(bundle.metafile.inputs)
      .map(p => p.match(/^(.*node_modules\/@tensorflow\/tfjs-core)\//)?.[1])
      .filter(Boolean),
  );
  record(
    `tfjs ${version}: the app bundle holds exactly one copy of tfjs-core`,
    bundledCores.size === 1,
    [...bundledCores].join(', '),
  );
  const files = {
    'bundled.html': {
      body: '<!doctype html><meta charset="utf-8"><script src="app.js"></script>',
    },
    'app.js': {file: path.join(dir, 'app.js')},
    'script_tag.html': {file: path.join(dir, 'script_tag.html')},
    'tf.min.js': {file: path.join(dir, 'node_modules/@tensorflow/tfjs/dist/tf.min.js')},
    // From the installed tarball: the file users get from a CDN.
    'tfjs-instance-norm.min.js': {
      file: path.join(dir, 'node_modules/tfjs-instance-norm/dist/tfjs-instance-norm.min.js'),
    },
    'checks.mjs': {file: path.join(dir, 'checks.mjs')},
    'reference.mjs': {file: path.join(dir, 'reference.mjs')},
  };
  return {version, dir, files};
}

const apps = [];
for (const version of TFJS_MATRIX) {
  await step(`(2) the app on @tensorflow/tfjs@${version}: install, npm ls, Node`, async () => {
    if (tarball == null) throw new Error('no tarball');
    apps.push(await matrixApp(version));
  });
}

await step('(2) bundler: a bare import keeps the kernel registration', async () => {
  const dir = apps.find(a => a.version === TFJS_VERSION)?.dir ?? apps[0]?.dir;
  if (dir == null) throw new Error('no app was installed');
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
});

await step('(2)/(3) headless Chromium, every version of the matrix', async () => {
  if (apps.length === 0) throw new Error('no app was installed');
  const types = {'.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript'};
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url, 'http://localhost').pathname;
    // /<version>/<file>
    const [, version, name] = pathname.match(/^\/([^/]+)\/([^/]+)$/) ?? [];
    const route = apps.find(a => a.version === version)?.files[name];
    if (!route) {
      res.writeHead(pathname === '/favicon.ico' ? 204 : 404).end();
      return;
    }
    const body = route.file ? fs.readFileSync(route.file) : route.body;
    res.writeHead(200, {'content-type': types[path.extname(pathname)]}).end(body);
  });
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
  // localhost: a secure origin, as WebGPU needs.
  const origin = `http://localhost:${server.address().port}`;
  const puppeteer = require('puppeteer-core');
  const browser = await puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: CHROMIUM_FLAGS.filter(f => f !== '--headless'),
  });
  try {
    for (const {version} of apps) {
      for (const [label, page] of [
        ['(2) bundled app', 'bundled.html'],
        ['(3) script tag', 'script_tag.html'],
      ]) {
        const start = Date.now();
        const tab = await browser.newPage();
        const errors = [];
        tab.on('pageerror', error => errors.push(String(error)));
        tab.on('console', message => {
          if (message.type() === 'error') errors.push(message.text());
        });
        // One page that fails (or times out on a loaded machine) leaves the others to run.
        try {
          await tab.goto(`${origin}/${version}/${page}`, {timeout: 300000});
          await tab.waitForFunction('window.consumerResults', {timeout: 300000});
          const results = await tab.evaluate(() => globalThis.consumerResults);
          recordAll(results);
          record(
            `${label} (tfjs ${version}): produced results without page errors`,
            results.length > 0 && errors.length === 0,
            errors.join('; '),
          );
        } catch (error) {
          record(`${label} (tfjs ${version}): runs`, false, `${error}; ${errors.join('; ')}`);
        }
        console.log(`(${label}, tfjs ${version}: ${seconds(start)})`);
        await tab.close();
      }
    }
  } finally {
    await browser.close();
    server.close();
  }
});

await step('(4) Node with WebGPU through Dawn (SwiftShader Vulkan)', async () => {
  const name = 'node + Dawn [webgpu]: the fused WebGPU kernels in Node';
  const app = apps.find(a => a.version === TFJS_VERSION);
  if (app == null) throw new Error(`no app on tfjs ${TFJS_VERSION} was installed`);
  const addon = dawnPath({fetch: false});
  if (addon == null) {
    skip(
      name,
      'Dawn (npm webgpu) is not in the cache; .ci/run fetches it: ' +
        'node -e "import(\'./scripts/dawn.mjs\').then(m => m.dawnPath())"',
    );
    return;
  }
  for (const file of ['node_webgpu.mjs']) {
    fs.copyFileSync(path.join(CONSUMER, file), path.join(app.dir, file));
  }
  fs.copyFileSync(path.join(ROOT, 'scripts/dawn.mjs'), path.join(app.dir, 'dawn.mjs'));
  runNodeApp(app.dir, ['node_webgpu.mjs', addon], swiftShaderEnv());
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
