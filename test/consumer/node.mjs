// (1) Node with only @tensorflow/tfjs-core + -backend-cpu (and the required
// -layers peer): import (package before the backend) and require (backend
// before the package); each entry (root, /cpu, /webgl, /webgpu, /wasm) alone
// in a process, imported and required; an ESM and a CommonJS TypeScript
// consumer type-check under moduleResolution node16, and one under node10.
// (4) Node with WebGPU through Dawn (npm `webgpu`) on the machine's Vulkan
// driver (Chromium's SwiftShader without a GPU).
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import {dawnPath, swiftShaderEnv} from '../../scripts/dawn.mjs';
import {ENTRIES} from '../../scripts/entry_sizes.mjs';
import {copyAppFiles, installed, makeApp, runNodeApp} from './app.mjs';
import {record} from './report.mjs';

/** (1): the app `dir` on tfjs `version`, with the node entry points and the TypeScript check. */
export function nodeApp(root, dir, version, packed) {
  makeApp(
    dir,
    [
      `@tensorflow/tfjs-core@${version}`,
      `@tensorflow/tfjs-backend-cpu@${version}`,
      `@tensorflow/tfjs-layers@${version}`,
    ],
    packed,
  );
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
  copyAppFiles(dir, [
    'node_app.mjs',
    'node_app.cjs',
    'node_entry.mjs',
    'node_entry.cjs',
    'types_esm.mts',
    'types_cjs.cts',
    'types_node10.cts',
  ]);
  for (const app of ['node_app.mjs', 'node_app.cjs']) runNodeApp(dir, [app]);
  for (const entry of ENTRIES) {
    for (const app of ['node_entry.mjs', 'node_entry.cjs']) runNodeApp(dir, [app, entry]);
  }
  const compilerOptions = {
    target: 'es2020',
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  for (const [name, options, files] of [
    [
      'an ESM and a CommonJS TypeScript consumer type-check (node16)',
      {module: 'node16', moduleResolution: 'node16'},
      ['types_esm.mts', 'types_cjs.cts'],
    ],
    [
      'a TypeScript consumer type-checks under moduleResolution node10 (typesVersions)',
      {module: 'commonjs', moduleResolution: 'node'},
      ['types_node10.cts'],
    ],
  ]) {
    fs.writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({compilerOptions: {...compilerOptions, ...options}, files}),
    );
    const tsc = spawnSync(
      process.execPath,
      [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'],
      {cwd: dir, encoding: 'utf8'},
    );
    record(`node: ${name}`, tsc.status === 0, tsc.stdout + tsc.stderr);
  }
}

/**
 * (4): the fused WebGPU kernels in Node, in the app `dir` (which has
 * tfjs-backend-webgpu). Dawn is fetched into the cache when absent
 * (scripts/dawn.mjs; `npm test` fetches it before the suite).
 */
export function nodeWebGPU(root, dir) {
  const addon = dawnPath();
  copyAppFiles(dir, ['node_webgpu.mjs']);
  fs.copyFileSync(path.join(root, 'scripts/dawn.mjs'), path.join(dir, 'dawn.mjs'));
  runNodeApp(dir, ['node_webgpu.mjs', addon], swiftShaderEnv());
}
