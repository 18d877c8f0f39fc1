// `npm run test:consumers`: the packed tarball, exactly as published, in the
// ways users get it, each app in a temporary folder (see app.mjs):
//   (0) pack.mjs    the tarball's contents;
//   (1) node.mjs    Node with tfjs-core + tfjs-backend-cpu of the oldest
//                   version of the matrix: import, require, TypeScript;
//   (2) matrix.mjs  per version of TFJS_MATRIX (the oldest the peer ranges
//                   allow, 4.21.0, 4.22.0) an app on @tensorflow/tfjs: one
//                   tfjs-core, Node, an esbuild bundle; a bare import; on the
//                   newest, a WebGL-only app on `tfjs-instance-norm/webgl`;
//   (3) pages.mjs   the bundled apps and script-tag pages in headless Chromium;
//   (4) node.mjs    Node with WebGPU through Dawn.
// Writes {passed, failed, skipped} to .tmp/results/consumer.json for
// scripts/test.mjs. KEEP_CONSUMER_TMP=1 keeps the temp folders for
// debugging; TFJS_MATRIX=4.22.0,... overrides the versions.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import {checkBareImport, matrixApp} from './matrix.mjs';
import {nodeApp, nodeWebGPU} from './node.mjs';
import {pack} from './pack.mjs';
import {runPages} from './pages.mjs';
import {counts, step, writeCounts} from './report.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The newest version: the Node + WebGPU app and the bare-import check use its app. */
const TFJS_VERSION = '4.22.0';
const TFJS_MATRIX = (process.env.TFJS_MATRIX ?? '4.10.0,4.21.0,4.22.0').split(',');
const OLDEST = TFJS_MATRIX[0];

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-instance-norm-consumers-'));
let packed = null;
const apps = [];
const newestApp = () => {
  const app = apps.find(a => a.version === TFJS_VERSION);
  if (app == null) throw new Error(`no app on tfjs ${TFJS_VERSION} was installed`);
  return app;
};
const needPacked = () => {
  if (packed == null) throw new Error('no tarball');
  return packed;
};

await step('pack', async () => {
  packed = await pack(ROOT, work);
});
await step(`(1) node with tfjs-core + tfjs-backend-cpu ${OLDEST}`, () =>
  nodeApp(ROOT, path.join(work, 'node'), OLDEST, needPacked()),
);
for (const version of TFJS_MATRIX) {
  await step(`(2) the app on @tensorflow/tfjs@${version}: install, npm ls, Node`, async () => {
    apps.push(
      await matrixApp(path.join(work, `tfjs-${version}`), version, needPacked(), {
        webglOnly: version === TFJS_VERSION,
      }),
    );
  });
}
await step('(2) bundler: a bare import keeps the kernel registration', () =>
  checkBareImport(newestApp().dir),
);
await step('(2)/(3) headless Chromium, every version of the matrix', () => {
  if (apps.length === 0) throw new Error('no app was installed');
  return runPages(apps);
});
await step('(4) Node with WebGPU through Dawn', () => nodeWebGPU(ROOT, newestApp().dir));

if (process.env.KEEP_CONSUMER_TMP) {
  console.log(`kept ${work}`);
} else {
  fs.rmSync(work, {recursive: true, force: true});
}
writeCounts(path.join(ROOT, '.tmp/results/consumer.json'));
process.exit(counts.failed ? 1 : 0);
