// (0) The tarball exactly as published (`npm pack`, which builds through
// prepack) and the float64 reference of the Karma suite as plain JS for the
// apps' checks.
import path from 'node:path';
import * as esbuild from 'esbuild';

import {run} from './app.mjs';
import {record} from './report.mjs';

/** What the tarball must hold; nothing else may lie outside dist/. */
const REQUIRED = [
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

/** Packs the package of `root` into `work`; returns the tarball's and the reference's paths. */
export async function pack(root, work) {
  const reference = path.join(work, 'reference.mjs');
  await esbuild.build({
    entryPoints: [path.join(root, 'test/reference.ts')],
    format: 'esm',
    outfile: reference,
    logLevel: 'warning',
  });
  // prepack (the build) prints before npm's JSON.
  const out = run('npm', ['pack', '--json', '--pack-destination', work], root);
  const [packed] = JSON.parse(out.slice(out.search(/^\[/m)));
  const files = packed.files.map(f => f.path);
  const missing = REQUIRED.filter(f => !files.includes(f));
  record(
    'the tarball holds the builds, types, README, CHANGELOG and LICENSE',
    missing.length === 0,
    `missing ${missing.join(', ')}`,
  );
  const strays = files.filter(f => !REQUIRED.includes(f) && !/^dist\//.test(f));
  record(
    'the tarball holds nothing else outside dist/',
    strays.length === 0,
    `unexpected ${strays.join(', ')}`,
  );
  console.log(`packed ${packed.filename}: ${files.length} files, ${packed.size} bytes`);
  return {tarball: path.join(work, packed.filename), reference};
}
