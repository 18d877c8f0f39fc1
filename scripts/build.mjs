// `npm run build` writes the package's builds and types. Five entries: the
// root (src/index.ts, every backend's kernels) and one per backend
// (src/cpu.ts, src/webgl.ts, src/webgpu.ts, src/wasm.ts: the same API, one
// backend's kernels), mapped in package.json "exports" as ".", "./cpu",
// "./webgl", "./webgpu", "./wasm".
//
//   dist/esm/<entry>.js             ES modules (dist/esm/package.json says so),
//                                   code split: what two entries share sits in
//                                   dist/esm/chunks/, so an app that imports two
//                                   entries loads (and registers the layer
//                                   classes of) the API once
//   dist/cjs/<entry>.cjs            CommonJS: each requires dist/cjs/src/<entry>.js,
//                                   one CommonJS file per source file, shared the
//                                   same way
//   dist/tfjs-instance-norm.min.js  the root entry, minified IIFE for a <script>
//                                   tag after tf.min.js: every @tensorflow/* import
//                                   reads the global `tf`; exposes `tfInstanceNorm`
//   dist/types/                     .d.ts from tsc (dist/types/src/<entry>.d.ts)
//
// No build contains any tfjs code: a second copy of tfjs-core would be a second
// kernel registry (our kernels registered where the app's backends never look).
// The build fails if one does, or if the ESM/CJS builds would load a backend
// package at runtime (the app installs the backends it wants; they are not dependencies: only
// `import type` is allowed).
import {execSync} from 'node:child_process';
import fs from 'node:fs';
import zlib from 'node:zlib';
import path from 'node:path';
import * as esbuild from 'esbuild';

import {ENTRIES, printEntrySizes} from './entry_sizes.mjs';

/** The peers a runtime import may name; the backend packages are not dependencies at all. */
const REQUIRED_PEERS = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers'];
export const UMD_FILE = 'dist/tfjs-instance-norm.min.js';
export const UMD_GLOBAL = 'tfInstanceNorm';

/**
 * Maps every `@tensorflow/<package>` import to the global `tf` of tf.min.js,
 * which re-exports tfjs-core, -layers, -backend-cpu and -backend-webgl (and
 * which tf-backend-webgpu.min.js extends). A deep import (a path inside a
 * package) has no counterpart on the global, so it is a build error.
 */
const tfGlobalPlugin = {
  name: 'tf-global',
  setup(build) {
    build.onResolve({filter: /^@tensorflow\//}, args => {
      if (!/^@tensorflow\/tfjs(-[a-z0-9-]+)?$/.test(args.path)) {
        return {errors: [{text: `${args.path}: a deep import cannot be mapped to the global tf`}]};
      }
      return {path: args.path, namespace: 'tf-global'};
    });
    build.onLoad({filter: /.*/, namespace: 'tf-global'}, () => ({
      contents: `if (typeof globalThis.tf !== 'object' || globalThis.tf === null) {
  throw new Error('tfjs-instance-norm.min.js uses the global tf: load @tensorflow/tfjs ' +
      '(tf.min.js) with a script tag before it.');
}
module.exports = globalThis.tf;`,
      loader: 'js',
    }));
  },
};

const common = {
  bundle: true,
  target: 'es2020',
  sourcemap: true,
  logLevel: 'warning',
  metafile: true,
};

/**
 * Fails the build when a file of the unbundled CommonJS build requires
 * anything but its own files and `allowExternal`.
 */
function checkRequires(dir, label, allowExternal) {
  for (const file of fs.readdirSync(dir, {recursive: true})) {
    if (!/\.c?js$/.test(file)) continue;
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    const required = [...text.matchAll(/\brequire\((["'])([^"']+)\1\)/g)].map(m => m[2]);
    const disallowed = required.filter(p => !p.startsWith('.') && !allowExternal.includes(p));
    if (disallowed.length) {
      throw new Error(
        `${label} (${file}) requires ${[...new Set(disallowed)].join(', ')} at runtime; ` +
          `only ${allowExternal.join(', ')} may be.`,
      );
    }
  }
}

/** Fails the build when an output pulls in tfjs code or a backend package. */
function checkImports(result, label, {allowExternal}) {
  for (const [file, output] of Object.entries(result.metafile.outputs)) {
    if (file.endsWith('.map')) continue;
    const bundled = Object.keys(output.inputs).filter(p => p.includes('node_modules'));
    if (bundled.length) {
      throw new Error(`${label} (${file}) bundles package code: ${bundled.join(', ')}`);
    }
    const external = output.imports.filter(i => i.external).map(i => i.path);
    const disallowed = external.filter(p => !allowExternal.includes(p));
    if (disallowed.length) {
      throw new Error(
        `${label} (${file}) imports ${[...new Set(disallowed)].join(', ')} at runtime; ` +
          `only ${allowExternal.join(', ') || 'nothing'} may be (the backend packages are ` +
          `the app's own choice, not dependencies: use \`import type\` for their types).`,
      );
    }
  }
}

// The wasm backend's SIMD module, inlined into kernels/wasm/module_bytes.ts
// (scripts/build_wasm.mjs) before the sources are bundled.
execSync('node scripts/build_wasm.mjs', {stdio: 'inherit'});

fs.rmSync('dist', {recursive: true, force: true});

const esm = await esbuild.build({
  ...common,
  entryPoints: ENTRIES.map(entry => `src/${entry}.ts`),
  format: 'esm',
  splitting: true,
  external: ['@tensorflow/*'],
  outdir: 'dist/esm',
  chunkNames: 'chunks/[name]-[hash]',
});
checkImports(esm, 'ESM build', {allowExternal: REQUIRED_PEERS});
// The package has no "type" field (its own .js files are CommonJS), so the
// ESM folder declares its format for Node.
fs.writeFileSync('dist/esm/package.json', '{"type": "module"}\n');

// CommonJS has no code splitting: every source file becomes one CommonJS file
// (requires between them resolve by Node's extension search), and each entry
// is a one-line .cjs that requires its own.
const sources = ['src', 'kernels']
  .flatMap(dir => fs.readdirSync(dir, {recursive: true}).map(f => path.join(dir, f)))
  .filter(f => f.endsWith('.ts') && !f.startsWith(path.join('kernels', 'wasm', 'assembly')));
await esbuild.build({
  entryPoints: sources,
  bundle: false,
  format: 'cjs',
  platform: 'node',
  target: 'es2020',
  sourcemap: true,
  logLevel: 'warning',
  outbase: '.',
  outdir: 'dist/cjs',
});
fs.writeFileSync('dist/cjs/package.json', '{"type": "commonjs"}\n');
for (const entry of ENTRIES) {
  fs.writeFileSync(`dist/cjs/${entry}.cjs`, `module.exports = require('./src/${entry}.js');\n`);
}
checkRequires('dist/cjs', 'CommonJS build', REQUIRED_PEERS);

const umd = await esbuild.build({
  ...common,
  entryPoints: ['src/index.ts'],
  format: 'iife',
  globalName: UMD_GLOBAL,
  minify: true,
  legalComments: 'none',
  banner: {
    js: '/* tfjs-instance-norm (Apache-2.0). Load after tf.min.js; exposes tfInstanceNorm. */',
  },
  plugins: [tfGlobalPlugin],
  outfile: UMD_FILE,
});
checkImports(umd, 'script-tag bundle', {allowExternal: []});

execSync('npx tsc -p tsconfig.json --emitDeclarationOnly --declaration --outDir dist/types', {
  stdio: 'inherit',
});

const min = fs.readFileSync(UMD_FILE);
const gzip = zlib.gzipSync(min, {level: 9}).length;
console.log(
  `built dist/esm/, dist/cjs/, dist/types/ (entries ${ENTRIES.join(', ')}), ` +
    `${UMD_FILE} (${min.length} bytes min, ${gzip} bytes min+gzip)`,
);
await printEntrySizes();
