// (2) The version matrix: an app on the umbrella @tensorflow/tfjs (plus
// tfjs-backend-webgpu where its peer range allows) per tfjs version: `npm ls`
// shows one tfjs-core; values and gradients against float64 in Node (cpu);
// an esbuild bundle of the app holds one tfjs-core; a bare import keeps the
// kernel registration. The pages the apps serve run in pages.mjs.
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
export async function matrixApp(dir, version, packed) {
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
