// Karma runs every spec in test/ in one headless Chromium, each on the
// environments of test/setup.ts (ENVS: cpu, webgl, webgl-unpacked, webgl-f16,
// webgpu, wasm when its backend is loaded, and the fallback: cpu without this
// package's kernels). SPEC=<glob> narrows the files, e.g. SPEC='test/forward*';
// BACKENDS=cpu,fallback narrows the environments (a family name such as webgl
// selects its variants too; a name it does not know fails the run).
const fs = require('fs');
const path = require('path');

// The flags that give headless Chromium WebGL2 and WebGPU on SwiftShader on a
// machine without a GPU (scripts/chromium.cjs), shared with the bench and demo.
const {CHROMIUM_FLAGS, chromiumPath} = require('./scripts/chromium.cjs');

const specs = process.env.SPEC || 'test/**/*.spec.ts';

/**
 * Counts results per backend (the `[backend]` tag in the suite name) and
 * writes them to .tmp/results/karma.json for scripts/test.mjs (`npm test`), which prints
 * the closing `N passed, N failed` line.
 */
function CountingReporter(baseReporterDecorator) {
  baseReporterDecorator(this);
  const counts = {passed: 0, failed: 0, skipped: 0, perBackend: {}};
  this.onSpecComplete = (browser, result) => {
    const tag = result.suite.join(' ').match(/\[([\w-]+)\]/);
    const backend = tag ? tag[1] : 'other';
    const bucket = (counts.perBackend[backend] ||= {passed: 0, failed: 0, skipped: 0});
    const kind =
      result.skipped || result.pending ? 'skipped' : result.success ? 'passed' : 'failed';
    counts[kind]++;
    bucket[kind]++;
  };
  this.onRunComplete = (browsers, results) => {
    if (results.error || results.disconnected) counts.failed++;
    fs.mkdirSync('.tmp/results', {recursive: true});
    fs.writeFileSync('.tmp/results/karma.json', JSON.stringify(counts, null, 2));
    this.write('\nspecs per backend: ' + JSON.stringify(counts.perBackend) + '\n');
    this.write(
      `karma: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`,
    );
  };
}
CountingReporter.$inject = ['baseReporterDecorator'];

module.exports = function (config) {
  process.env.CHROME_BIN = chromiumPath();
  // karma-esbuild writes its entry file to os.tmpdir() and imports the specs
  // by a path relative to it, which breaks when the checkout itself lies
  // under the temp folder (a path without './'). A temp folder inside the
  // checkout always gives '../'-relative paths.
  process.env.TMPDIR = path.join(__dirname, '.tmp', 'karma');
  fs.mkdirSync(process.env.TMPDIR, {recursive: true});
  config.set({
    frameworks: ['jasmine'],
    files: [
      {pattern: specs, watched: false},
      // Converted Keras models, loaded over HTTP by test/keras.spec.ts.
      {
        pattern: 'test/fixtures/**/*',
        included: false,
        served: true,
        watched: false,
        nocache: true,
      },
      // The wasm backend fetches its binary at /base/node_modules/... (test/setup.ts).
      {
        pattern: 'node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm',
        included: false,
        served: true,
        watched: false,
        nocache: true,
      },
    ],
    mime: {'application/wasm': ['wasm']},
    // README's converted-model example loads 'web_model/model.json': a
    // converted Keras CNN with BatchNormalization and LayerNormalization.
    proxies: {'/web_model/': '/base/test/fixtures/keras/keras_bn_cnn/'},
    preprocessors: {[specs]: ['esbuild']},
    // README.md and docs/*.md are imported as text by test/readme.spec.ts.
    esbuild: {target: 'es2020', sourcemap: true, singleBundle: true, loader: {'.md': 'text'}},
    plugins: [
      'karma-jasmine',
      'karma-chrome-launcher',
      'karma-esbuild',
      {'reporter:counting': ['type', CountingReporter]},
    ],
    reporters: ['dots', 'counting'],
    browsers: ['ChromiumGPU'],
    customLaunchers: {
      ChromiumGPU: {base: 'Chrome', flags: CHROMIUM_FLAGS},
    },
    // BACKENDS=cpu,webgl narrows the environments (test/setup.ts reads it).
    client: {
      jasmine: {random: false, timeoutInterval: 300000},
      args: process.env.BACKENDS ? [`backends=${process.env.BACKENDS}`] : [],
    },
    browserNoActivityTimeout: 1800000,
    browserDisconnectTimeout: 60000,
    captureTimeout: 120000,
    singleRun: true,
    concurrency: 1,
  });
};
