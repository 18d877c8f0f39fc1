// End-to-end test of `npm start`: serves the demo, drives it in headless
// Chromium (WebGL2 and WebGPU on SwiftShader) and checks what a visitor
// would see: the best backend is picked, the network trains on WebGPU and on
// WebGL with the loss going down, the fused/composite toggle trains the same
// network from the same weights, "Measure both" fills in both step times and
// the speed-up, and nothing logs an error. Then, with WebGPU shaders that do
// not compile, and in a browser without WebGPU, the page says so in words and
// falls back to WebGL. Saves a screenshot at
// test/artifacts/demo.png and writes its counts to .tmp/results/e2e.json.
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import {createRequire} from 'node:module';
import puppeteer from 'puppeteer-core';

const require = createRequire(import.meta.url);
const {CHROMIUM_FLAGS, chromiumPath} = require('../../scripts/chromium.cjs');

const STEPS = 20;
const STEP_TIMEOUT_MS = 240_000;
const results = {passed: 0, failed: 0, skipped: 0};

function check(name, ok, detail = '') {
  results[ok ? 'passed' : 'failed']++;
  console.log(`${ok ? 'ok' : 'FAIL'} - ${name}${detail ? ` (${detail})` : ''}`);
  return ok;
}

/** Starts `node demo/serve.mjs` on a free port; resolves with the server process and its URL. */
function startServer() {
  const server = spawn(process.execPath, ['demo/serve.mjs'], {
    env: {...process.env, PORT: '0'},
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`the demo server printed no URL: ${out}`)),
      120_000,
    );
    server.stdout.on('data', chunk => {
      out += chunk;
      const match = out.match(/http:\/\/localhost:\d+\//);
      if (match) {
        clearTimeout(timer);
        resolve({server, url: match[0]});
      }
    });
    server.on('exit', code => reject(new Error(`the demo server exited with ${code}: ${out}`)));
  });
}

async function launch(flags) {
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    // puppeteer adds its own --headless.
    args: flags.filter(f => f !== '--headless'),
    defaultViewport: {width: 1280, height: 800},
  });
}

/** Opens the page and records every console error and uncaught exception. */
async function open(browser, url) {
  const page = await browser.newPage();
  const errors = [];
  page.on('console', m => {
    if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
  });
  page.on('pageerror', e => errors.push(`uncaught: ${e.message}`));
  page.on('requestfailed', r => errors.push(`request failed: ${r.url()}`));
  await page.goto(url, {waitUntil: 'load'});
  return {page, errors};
}

const snapshot = page => page.evaluate(() => window.demo.snapshot());

/** Waits until `predicate(snapshot)` holds; returns that snapshot, or the last one on timeout. */
async function waitFor(page, predicate, timeout = STEP_TIMEOUT_MS) {
  const end = Date.now() + timeout;
  let last = null;
  while (Date.now() < end) {
    last = await page.evaluate(() => window.demo?.snapshot()).catch(() => null);
    if (last && predicate(last)) return last;
    await new Promise(r => setTimeout(r, 250));
  }
  return last;
}

const mean = values => values.reduce((a, b) => a + b, 0) / values.length;

/**
 * The kernel note under the images says what "fused" runs on `backend`: the
 * package's kernels where it has them (webgpu, webgl, cpu; wasm when its
 * kernels are built), built-in ops otherwise. The page takes it from tf.profile.
 */
async function checkKernelNote(page, backend, label) {
  const s = await waitFor(page, s => s.kernelNotes?.[backend] !== undefined);
  const note = s?.kernelNotes?.[backend] ?? '';
  const fusedRegistered = await page.evaluate(name => window.demo.hasKernels(name), backend);
  const fused = new RegExp(
    `^${label}: "fused" runs this package's InstanceNorm and InstanceNormGrad kernels`,
  );
  const builtIn = new RegExp(`^${label}: no fused kernels run on this backend`);
  check(
    `${backend}: the kernel note says what runs`,
    fusedRegistered ? fused.test(note) : builtIn.test(note),
    `kernels registered ${fusedRegistered}; note "${note}"`,
  );
  return note;
}

/** The kernel note of a backend with fused kernels: it must say they run. */
async function checkFusedNote(page, backend, label) {
  const note = await checkKernelNote(page, backend, label);
  check(
    `${backend}: the note says the fused kernels run`,
    /"fused" runs this package's/.test(note),
    note,
  );
  return note;
}

/** Trains `norm` on the current backend for `steps` steps; checks the loss went down. */
async function checkTraining(page, backend, norm, steps = STEPS) {
  const s = await waitFor(page, s => s.backend === backend && s.losses[norm].length >= steps);
  const losses = s?.losses[norm] ?? [];
  const first = mean(losses.slice(0, 3));
  const last = mean(losses.slice(steps - 3, steps));
  check(
    `${backend}, ${norm}: ${steps} training steps ran`,
    losses.length >= steps,
    `${losses.length} steps`,
  );
  check(
    `${backend}, ${norm}: the loss goes down`,
    losses.length >= steps && last < 0.8 * first,
    `mean of steps 1-3 ${first.toFixed(4)}, of steps ${steps - 2}-${steps} ${last.toFixed(4)}`,
  );
  return s;
}

async function cell(page, backend, column) {
  return page.$eval(`#timing tr[data-backend="${backend}"] td.${column}`, td => td.textContent);
}

/** "Measure both": the two runs step in turn; the table shows both times and the speed-up. */
async function measureBoth(page, backend) {
  const before = await snapshot(page);
  await page.click('#compare');
  const s = await waitFor(
    page,
    s =>
      s.compareLeft === 0 &&
      s.losses.fused.length >= before.losses.fused.length + 10 &&
      s.losses.composite.length >= before.losses.composite.length + 10,
  );
  // The table refreshes every few steps; give it one more step.
  await waitFor(page, t => t.losses[t.norm].length > s.losses[s.norm].length);
  const fused = await cell(page, backend, 'fused');
  const composite = await cell(page, backend, 'composite');
  const speedup = await cell(page, backend, 'speedup');
  check(
    `${backend}: "Measure both" shows ms/step for both and the speed-up`,
    /ms$/.test(fused) && /ms$/.test(composite) && /×$/.test(speedup),
    `fused ${fused}, composite ${composite}, speed-up ${speedup}`,
  );
}

/**
 * The conditional mode: one network with a row of gamma/beta per palette
 * trains (the loss goes down); paused, another style button repaints the
 * held-out scenes in that palette without a training step.
 */
async function checkConditional(page, backend) {
  await page.click('[data-norm="conditional"]');
  const s = await waitFor(
    page,
    t => t.norm !== 'conditional' || t.losses.conditional.length >= STEPS,
  );
  const losses = s?.losses.conditional ?? [];
  check(
    `${backend}, conditional: ${STEPS} training steps ran`,
    s?.norm === 'conditional' && losses.length >= STEPS,
    `${losses.length} steps; ${s?.messages.map(m => m.text).join(' | ')}`,
  );
  if (losses.length < STEPS) return;
  const first = mean(losses.slice(0, 3));
  const last = mean(losses.slice(STEPS - 3, STEPS));
  check(
    `${backend}, conditional: the loss goes down`,
    last < 0.8 * first,
    `mean of steps 1-3 ${first.toFixed(4)}, of steps ${STEPS - 2}-${STEPS} ${last.toFixed(4)}`,
  );
  await page.click('#train');
  await waitFor(page, t => !t.running);
  // A step in flight when paused may still finish and redraw.
  await new Promise(r => setTimeout(r, 3000));
  const pixels = () => page.$eval('#output', c => c.toDataURL());
  const before = await pixels();
  const steps = (await snapshot(page)).losses.conditional.length;
  await page.click('[data-style="1"]');
  await waitFor(page, t => t.style === 1);
  await new Promise(r => setTimeout(r, 2000));
  const after = await pixels();
  const stepsAfter = (await snapshot(page)).losses.conditional.length;
  check(
    `${backend}, conditional: another style id repaints the scenes without training`,
    after !== before && stepsAfter === steps,
    `output ${after !== before ? 'changed' : 'unchanged'}; steps ${steps} then ${stepsAfter}`,
  );
  await page.click('[data-style="0"]');
  await page.click('[data-norm="fused"]');
  await page.click('#train');
}

async function main() {
  const {server, url} = await startServer();
  console.log(`demo served at ${url}`);
  let browser;
  const notes = {};
  try {
    browser = await launch(CHROMIUM_FLAGS);
    const {page, errors} = await open(browser, url);

    const picked = await waitFor(page, s => s.backend !== null, 120_000);
    check(
      'the page picks WebGPU, the best backend here',
      picked?.backend === 'webgpu',
      `picked ${picked?.backend}; unavailable: ${JSON.stringify(picked?.unavailable)}`,
    );
    await checkTraining(page, 'webgpu', 'fused');
    notes.webgpu = await checkFusedNote(page, 'webgpu', 'WebGPU');

    // The toggle: the composite version trains from the same initial weights.
    await page.click('[data-norm="composite"]');
    // Taken after the click: a fused step in flight then may still finish (+1).
    const before = (await snapshot(page)).losses.fused.length;
    const s = await checkTraining(page, 'webgpu', 'composite');
    const fusedAfter = (await snapshot(page)).losses.fused.length;
    check(
      'the toggle pauses the fused run',
      fusedAfter <= before + 1,
      `fused steps ${before} then ${fusedAfter}`,
    );
    const firstFused = s.losses.fused[0];
    const firstComposite = s.losses.composite[0];
    check(
      'both versions start from the same weights (same first loss)',
      Math.abs(firstFused - firstComposite) <= 1e-4 * firstFused,
      `fused ${firstFused}, composite ${firstComposite}`,
    );
    await page.click('[data-norm="fused"]');
    await measureBoth(page, 'webgpu');

    // WebGL, chosen with its button.
    await page.click('[data-backend="webgl"]');
    await checkTraining(page, 'webgl', 'fused');
    notes.webgl = await checkFusedNote(page, 'webgl', 'WebGL');
    await measureBoth(page, 'webgl');
    await checkTraining(page, 'webgl', 'composite', 10);

    // After a step the page holds the same tensors as after the step 5 (a redraw) earlier.
    const t1 = await snapshot(page);
    const t2 = await waitFor(page, s => s.losses.fused.length >= t1.losses.fused.length + 5);
    check(
      'training leaks no tensors',
      t1.tensorsAfterStep === t2.tensorsAfterStep,
      `${t1.tensorsAfterStep} tensors after step ${t1.losses.fused.length}, ${
        t2.tensorsAfterStep
      } after step ${t2.losses.fused.length}`,
    );

    const benchReady = await page.evaluate(
      () =>
        typeof window.runBenchmark === 'function' && !document.querySelector('#bench-run').disabled,
    );
    check('the benchmark panel is wired to bench/bench.ts', benchReady);

    fs.mkdirSync('test/artifacts', {recursive: true});
    await page.screenshot({path: 'test/artifacts/demo.png'});
    console.log('screenshot: test/artifacts/demo.png');

    // WASM (tfjs-backend-wasm, a devDependency: its .wasm files come from the
    // server), with its button: the note says what instance norm runs there.
    // tfjs' wasm backend has no conv2d gradient kernels, so the page says in
    // words that the network cannot train on it and moves on to CPU; should it
    // gain them, it trains.
    await page.click('[data-backend="wasm"]');
    notes.wasm = await checkKernelNote(page, 'wasm', 'WASM');
    const onWasm = await waitFor(
      page,
      s => s.unavailable.wasm !== undefined || (s.backend === 'wasm' && s.losses.fused.length >= 2),
    );
    const wasmWords = onWasm?.unavailable.wasm ?? '';
    check(
      'wasm: trains, or says in words why it cannot',
      (onWasm?.backend === 'wasm' && onWasm.losses.fused.every(Number.isFinite)) ||
        /WASM backend has no Conv2DBackprop/.test(wasmWords),
      `backend ${onWasm?.backend}; ${wasmWords}`,
    );
    // CPU: where the page fell back to, or with its button.
    if ((await snapshot(page)).backend !== 'cpu') await page.click('[data-backend="cpu"]');
    const onCpu = await waitFor(page, s => s.backend === 'cpu' && s.losses.fused.length >= 2);
    const cpuLosses = onCpu?.losses.fused ?? [];
    check(
      'cpu: training steps run with finite losses',
      onCpu?.backend === 'cpu' && cpuLosses.length >= 2 && cpuLosses.every(Number.isFinite),
      `backend ${onCpu?.backend}, losses ${cpuLosses.slice(0, 4).join(', ')}`,
    );
    notes.cpu = await checkFusedNote(page, 'cpu', 'CPU');
    await checkConditional(page, 'cpu');
    for (const [backend, note] of Object.entries(notes)) console.log(`note on ${backend}: ${note}`);

    // The one expected error: WASM cannot train the convolutions (checked above).
    const pageErrors = (await snapshot(page)).messages.filter(
      m => m.kind === 'error' && !/WASM backend has no Conv2DBackprop/.test(m.text),
    );
    check('no console errors or uncaught exceptions', errors.length === 0, errors.join(' | '));
    check(
      'no error shown on the page',
      pageErrors.length === 0,
      pageErrors.map(m => m.text).join(' | '),
    );
    await page.close();

    // A WebGPU shader that does not compile (every WGSL source gets a bad
    // line): the page says so and falls back to WebGL.
    const broken = await browser.newPage();
    await broken.evaluateOnNewDocument(() => {
      const create = GPUDevice.prototype.createShaderModule;
      GPUDevice.prototype.createShaderModule = function (descriptor) {
        return create.call(this, {...descriptor, code: `${descriptor.code}\nthis is not WGSL;\n`});
      };
    });
    await broken.goto(url, {waitUntil: 'load'});
    await checkKernelNote(broken, 'webgl', 'WebGL');
    const afterBreak = await waitFor(
      broken,
      s => s.backend === 'webgl' && s.losses.fused.length >= 1,
    );
    const brokenWords = afterBreak?.messages.find(m => m.kind === 'error')?.text ?? '';
    check(
      'a WebGPU shader that fails to compile: the page falls back to WebGL',
      afterBreak?.backend === 'webgl',
      `backend ${afterBreak?.backend}; ${afterBreak?.messages.map(m => m.text).join(' | ')}`,
    );
    check(
      '... and says what failed, in words',
      /WebGPU failed: the GPU reported an error/.test(brokenWords) && /WebGL/.test(brokenWords),
      brokenWords.slice(0, 200),
    );
    await browser.close();

    // A browser without WebGPU: the page says why and falls back to WebGL.
    const noGpuFlags = CHROMIUM_FLAGS.filter(f => !/webgpu/.test(f)).concat(
      '--disable-features=WebGPU',
    );
    browser = await launch(noGpuFlags);
    const second = await open(browser, url);
    const fallback = await waitFor(second.page, s => s.backend !== null, 120_000);
    const words = fallback?.messages.find(m => m.kind === 'error')?.text ?? '';
    check(
      'without WebGPU the page falls back to WebGL',
      fallback?.backend === 'webgl',
      `picked ${fallback?.backend}`,
    );
    check(
      'without WebGPU the page says why, in words',
      /WebGPU/.test(words) && /WebGL/.test(words),
      words,
    );
    const disabled = await second.page.$eval('[data-backend="webgpu"]', b => b.disabled);
    check('the WebGPU button is disabled', disabled);
  } catch (e) {
    check('the end-to-end run completed', false, e.stack ?? String(e));
  } finally {
    await browser?.close().catch(() => {});
    server.kill();
  }
  fs.mkdirSync('.tmp/results', {recursive: true});
  fs.writeFileSync('.tmp/results/e2e.json', JSON.stringify(results));
  console.log(
    `e2e: ${results.passed} passed, ${results.failed} failed, ${results.skipped} skipped`,
  );
  process.exit(results.failed ? 1 : 0);
}

await main();
