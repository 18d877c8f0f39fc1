// (2) The version matrix: an app on the umbrella @tensorflow/tfjs (plus
// tfjs-backend-webgpu where its peer range allows) per tfjs version: `npm ls`
// shows one tfjs-core; values and gradients against float64 in Node (cpu);
// an esbuild bundle of the app holds one tfjs-core; a bare import keeps the
// kernel registration; on the newest version, a WebGL-only app bundled from
// the `tfjs-instance-norm/webgl` entry holds no wasm module and no WGSL. The
// pages the apps serve run in pages.mjs.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';

import {atLeast, copyAppFiles, makeApp, runNodeApp} from './app.mjs';
import {record} from './report.mjs';

/** tfjs-backend-webgpu before 4.22 does not start in current Chromium (peer range >=4.22.0). */
const WEBGPU_FROM = '4.22.0';

/**
 * Installs the app `dir` on tfjs `version` and runs its Node checks; returns
 * `{version, dir, files}`, files being the pages and scripts it serves to
 * Chromium (by name: a file path or a body).
 */
export async function matrixApp(dir, version, packed, {webglOnly = false} = {}) {
  const webgpu = atLeast(version, WEBGPU_FROM);
  makeApp(
    dir,
    [
      `@tensorflow/tfjs@${version}`,
      ...(webgpu ? [`@tensorflow/tfjs-backend-webgpu@${version}`] : []),
    ],
    packed,
  );
  checkOneCore(dir, version);
  copyAppFiles(dir, ['node_umbrella.mjs', 'bundled_app.mjs', 'script_tag.html']);
  runNodeApp(dir, ['node_umbrella.mjs']);
  await bundle(dir, version, [...(webgpu ? ['webgpu'] : []), 'webgl', 'cpu']);
  const webglOnlyFiles = webglOnly ? await bundleWebGLOnly(dir) : {};
  const files = {
    ...webglOnlyFiles,
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

/** One tfjs-core, of `version`: two would be two kernel registries. */
function checkOneCore(dir, version) {
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
}

/** Bundles the app's browser entry (app.js, running `backends`); checks it holds one tfjs-core. */
async function bundle(dir, version, backends) {
  fs.writeFileSync(
    path.join(dir, 'entry.mjs'),
    (backends.includes('webgpu') ? "import '@tensorflow/tfjs-backend-webgpu';\n" : '') +
      "import {run} from './bundled_app.mjs';\n" +
      `window.consumerResults = run(${JSON.stringify(backends)}).catch(error => [\n` +
      `  {name: 'bundled app (tfjs ${version}): runs', ok: false, detail: String(error)},\n]);\n`,
  );
  const built = await esbuild.build({
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
    Object.keys(built.metafile.inputs)
      .map(p => p.match(/^(.*node_modules\/@tensorflow\/tfjs-core)\//)?.[1])
      .filter(Boolean),
  );
  record(
    `tfjs ${version}: the app bundle holds exactly one copy of tfjs-core`,
    bundledCores.size === 1,
    [...bundledCores].join(', '),
  );
}

/** Text that only the wasm kernels (the inlined module) or the WebGPU kernels (WGSL) hold. */
const FOREIGN_MARKERS = [
  ['wasm module (base64 of its \\0asm magic)', 'AGFzbQ'],
  ['WGSL (@compute)', '@compute'],
  ['WGSL (var<storage)', 'var<storage'],
];

/**
 * Bundles webgl_only_app.mjs (the `tfjs-instance-norm/webgl` entry) minified,
 * as a production web app would, and checks its text: no wasm module, no
 * WGSL, but the package's WebGL kernels. The same app on the root entry is
 * the control: it must hold every marker, or the check proves nothing.
 * Returns the page and script to serve.
 */
async function bundleWebGLOnly(dir) {
  copyAppFiles(dir, ['webgl_only_app.mjs']);
  fs.writeFileSync(
    path.join(dir, 'webgl_only_entry.mjs'),
    "import {run} from './webgl_only_app.mjs';\n" +
      'window.consumerResults = run().catch(error => [\n' +
      "  {name: 'webgl-only app: runs', ok: false, detail: String(error)},\n]);\n",
  );
  const build = (entryFile, outfile, alias) =>
    esbuild.build({
      entryPoints: [path.join(dir, entryFile)],
      absWorkingDir: dir,
      bundle: true,
      minify: true,
      format: 'iife',
      platform: 'browser',
      target: 'es2020',
      alias,
      metafile: true,
      logLevel: 'warning',
      outfile: path.join(dir, outfile),
    });
  const only = await build('webgl_only_entry.mjs', 'webgl_only.js');
  await build('webgl_only_entry.mjs', 'webgl_only_control.js', {
    'tfjs-instance-norm/webgl': 'tfjs-instance-norm',
  });
  const text = fs.readFileSync(path.join(dir, 'webgl_only.js'), 'utf8');
  const controlText = fs.readFileSync(path.join(dir, 'webgl_only_control.js'), 'utf8');
  const packageInputs = built =>
    Object.keys(built.metafile.inputs).filter(p => p.includes('node_modules/tfjs-instance-norm/'));
  record(
    "webgl-only app: the bundle takes the package's webgl entry (dist/esm/webgl.js)",
    packageInputs(only).some(p => p.endsWith('dist/esm/webgl.js')) &&
      !packageInputs(only).some(p => p.endsWith('dist/esm/index.js')),
    packageInputs(only).join(', '),
  );
  record(
    "webgl-only app: the bundle holds the package's WebGL kernels",
    text.includes('InstanceNormGrad') && /gl_FragCoord|getOutputCoords/.test(text),
  );
  for (const [what, marker] of FOREIGN_MARKERS) {
    record(
      `webgl-only app: no ${what} in the bundle, which the root entry's bundle has`,
      !text.includes(marker) && controlText.includes(marker),
      `webgl entry ${text.includes(marker)}, root entry ${controlText.includes(marker)}`,
    );
  }
  console.log(
    `webgl-only app bundle (tfjs inside, minified): ${text.length} bytes; ` +
      `the same app on the root entry: ${controlText.length} bytes`,
  );
  return {
    'webgl_only.html': {
      body: '<!doctype html><meta charset="utf-8"><script src="webgl_only.js"></script>',
    },
    'webgl_only.js': {file: path.join(dir, 'webgl_only.js')},
  };
}

/** "sideEffects": a bare import, minified, must keep the kernel registration. */
export async function checkBareImport(dir) {
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
}
