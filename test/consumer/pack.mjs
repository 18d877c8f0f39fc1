// (0) The tarball exactly as published (`npm pack`, which builds through
// prepare) and the float64 reference of the Karma suite as plain JS for the
// apps' checks.
import path from 'node:path';
import * as esbuild from 'esbuild';

import {ENTRIES} from '../../scripts/entry_sizes.mjs';
import {run} from './app.mjs';
import {record} from './report.mjs';

/** What the tarball must hold (every entry's builds and types); nothing else may lie outside dist/. */
const REQUIRED = [
  'package.json',
  'README.md',
  'CHANGELOG.md',
  'LICENSE',
  'dist/esm/package.json',
  'dist/cjs/package.json',
  ...ENTRIES.flatMap(entry => [
    `dist/esm/${entry}.js`,
    `dist/cjs/${entry}.cjs`,
    `dist/cjs/src/${entry}.js`,
    `dist/types/src/${entry}.d.ts`,
  ]),
  'dist/tfjs-instance-norm.min.js',
];
/** dist/ holds the package's own sources' builds only: nothing of the tests, benchmarks, demo. */
const DIST_SOURCES = /^dist\/(esm|cjs|types)\/((src|kernels)\/|[^/]+$|chunks\/)|^dist\/[^/]+$/;

/** Packs the package of `root` into `work`; returns the tarball's and the reference's paths. */
export async function pack(root, work) {
  const reference = path.join(work, 'reference.mjs');
  await esbuild.build({
    entryPoints: [path.join(root, 'test/reference.ts')],
    format: 'esm',
    outfile: reference,
    logLevel: 'warning',
  });
  // prepare (the build) prints before npm's JSON.
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
  const foreign = files.filter(f => /^dist\//.test(f) && !DIST_SOURCES.test(f));
  record(
    'dist/ in the tarball holds builds of src/ and kernels/ only (no test, bench, demo files)',
    foreign.length === 0,
    `unexpected ${foreign.join(', ')}`,
  );
  console.log(`packed ${packed.filename}: ${files.length} files, ${packed.size} bytes`);
  return {tarball: path.join(work, packed.filename), reference};
}
