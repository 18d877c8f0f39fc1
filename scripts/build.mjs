// `npm run build`: dist/esm/index.js (ES module) and dist/cjs/index.cjs
// (CommonJS), each one file with every @tensorflow package left external (a
// second copy of tfjs-core would mean a second kernel registry), plus the
// .d.ts types from tsc.
import {execSync} from 'node:child_process';
import fs from 'node:fs';
import * as esbuild from 'esbuild';

fs.rmSync('dist', {recursive: true, force: true});
const common = {
  entryPoints: ['src/index.ts'],
  bundle: true,
  external: ['@tensorflow/*'],
  target: 'es2020',
  sourcemap: true,
  logLevel: 'warning',
};
await esbuild.build({...common, format: 'esm', outfile: 'dist/esm/index.js'});
await esbuild.build({...common, format: 'cjs', platform: 'node', outfile: 'dist/cjs/index.cjs'});
execSync('npx tsc -p tsconfig.json --emitDeclarationOnly --declaration --outDir dist/types',
         {stdio: 'inherit'});
console.log('built dist/esm/index.js, dist/cjs/index.cjs, dist/types/');
