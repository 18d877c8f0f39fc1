// What each entry of the package adds to an app's bundle: the built ES module
// entry (dist/esm/<entry>.js and the chunks it imports) bundled and minified
// by esbuild, tfjs left out (the app has it anyway), raw and gzipped.
// `npm run build` prints the table; `node scripts/entry_sizes.mjs` prints it
// for the current dist/ (the README's table comes from it).
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import zlib from 'node:zlib';
import * as esbuild from 'esbuild';

/** The package's entries: src/<entry>.ts, "exports" "." (index) and "./<entry>". */
export const ENTRIES = ['index', 'cpu', 'webgl', 'webgpu', 'wasm'];

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** `{entry, specifier, raw, gzip}` per entry, in bytes. */
export async function entrySizes() {
  const sizes = [];
  for (const entry of ENTRIES) {
    const built = await esbuild.build({
      entryPoints: [path.join(ROOT, 'dist/esm', `${entry}.js`)],
      bundle: true,
      minify: true,
      format: 'esm',
      target: 'es2020',
      legalComments: 'none',
      external: ['@tensorflow/*'],
      write: false,
      logLevel: 'warning',
    });
    const code = built.outputFiles[0].contents;
    sizes.push({
      entry,
      specifier: entry === 'index' ? 'tfjs-instance-norm' : `tfjs-instance-norm/${entry}`,
      raw: code.length,
      gzip: zlib.gzipSync(code, {level: 9}).length,
    });
  }
  return sizes;
}

const kB = bytes => `${(bytes / 1000).toFixed(1)} kB`;

/** Prints the sizes as the README's Markdown table. */
export async function printEntrySizes() {
  console.log('| import | minified | gzipped |\n| --- | ---: | ---: |');
  for (const {specifier, raw, gzip} of await entrySizes()) {
    console.log(`| \`${specifier}\` | ${kB(raw)} | ${kB(gzip)} |`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!fs.existsSync(path.join(ROOT, 'dist/esm/index.js'))) {
    throw new Error('no dist/esm/index.js: run `npm run build` first');
  }
  await printEntrySizes();
}
