/**
 * The demo page: picks the best backend, trains the painter network live,
 * times fused against composite instance norm, runs the quick benchmark, and
 * says in words what went wrong when something does.
 */
import * as tf from '@tensorflow/tfjs-core';

import {InstanceNorm, InstanceNormGrad, instanceNorm} from '../src/index';
import {
  activateBackend,
  BACKEND_LABELS,
  BACKEND_ORDER,
  BackendName,
  message,
  setGpuErrorHandler,
} from './backends';
import {setUpBenchPanel} from './bench_panel';
import {BATCH, DATASET_SIZE, IMAGE_SIZE, makeDataset} from './data';
import {makeRuns, NormKind, TrainingRun} from './model';
import {drawImageRow, drawLossPlot} from './plot';

const DRAW_EVERY = 5;
/** Steps left out of the median: the first ones compile shaders. */
const WARMUP = 3;
/**
 * The median covers each run's last WINDOW steps, so after "Measure both"
 * (steps of the two runs interleaved) both numbers come from the same minute
 * of the machine's life.
 */
const WINDOW = 10;
const IMAGE_GAP = 8;
const NORM_COLORS: Record<NormKind, string> = {fused: '#2f6fdb', composite: '#e07b27'};

const $ = <T extends HTMLElement>(selector: string) => document.querySelector(selector) as T;
const backendButtons = Array.from(document.querySelectorAll<HTMLButtonElement>('[data-backend]'));
const normButtons = Array.from(document.querySelectorAll<HTMLButtonElement>('[data-norm]'));
const trainButton = $<HTMLButtonElement>('#train');

/** Everything tied to one backend: the data tensors and both runs. */
interface Session {
  backend: BackendName;
  batches: Array<{input: tf.Tensor4D; target: tf.Tensor4D}>;
  preview: tf.Tensor4D;
  runs: Record<NormKind, TrainingRun>;
}

const dataset = makeDataset();
const PIXELS = IMAGE_SIZE * IMAGE_SIZE;
/** The last batch is held out: the page shows how the network does on scenes it never trained on. */
const TRAIN_BATCHES = DATASET_SIZE / BATCH - 1;

let session: Session | null = null;
let norm: NormKind = 'fused';
let running = true;
/** True while the benchmark panel runs: training and backend switches wait. */
let benchBusy = false;
/** Steps left of a "Measure both" sequence, which alternates composite and fused. */
let compareLeft = 0;
/** The first WebGPU validation error since the last step (a shader that did not compile, ...). */
let gpuError: string | null = null;
/** tf.memory().numTensors after the last step: steady once Adam has its slots (the e2e test checks). */
let tensorsAfterStep = 0;
setGpuErrorHandler(text => {
  // A WebGPU device left behind by a switch can still report late errors.
  if (tf.getBackend() === 'webgpu') gpuError ??= text;
});
/** The step in flight; a backend switch waits for it before disposing anything. */
let stepping: Promise<void> = Promise.resolve();
/** Bumped to stop the current training loop. */
let generation = 0;
const unavailable = new Map<BackendName, string>();
/** Median ms per step, per backend and norm, kept across backend switches. */
const timings = new Map<BackendName, Partial<Record<NormKind, number>>>();
const messages: Array<{kind: 'error' | 'info'; text: string}> = [];

function say(kind: 'error' | 'info', text: string): void {
  messages.push({kind, text});
  const box = $('#messages');
  const p = document.createElement('p');
  p.className = kind;
  p.textContent = text;
  box.appendChild(p);
  box.scrollTop = box.scrollHeight;
  if (kind === 'error') console.warn(`[demo] ${text}`);
}

function slice(data: Float32Array, first: number, count: number, channels: number): Float32Array {
  return data.subarray(first * PIXELS * channels, (first + count) * PIXELS * channels);
}

function makeSession(backend: BackendName): Session {
  const batches = Array.from({length: TRAIN_BATCHES}, (_, b) => ({
    input: tf.tensor4d(slice(dataset.gray, b * BATCH, BATCH, 1), [
      BATCH,
      IMAGE_SIZE,
      IMAGE_SIZE,
      1,
    ]),
    target: tf.tensor4d(slice(dataset.color, b * BATCH, BATCH, 3), [
      BATCH,
      IMAGE_SIZE,
      IMAGE_SIZE,
      3,
    ]),
  }));
  const first = TRAIN_BATCHES * BATCH;
  const preview = tf.tensor4d(slice(dataset.gray, first, BATCH, 1), [
    BATCH,
    IMAGE_SIZE,
    IMAGE_SIZE,
    1,
  ]);
  drawImageRow($('#input'), slice(dataset.gray, first, BATCH, 1), BATCH, IMAGE_SIZE, 1, IMAGE_GAP);
  drawImageRow(
    $('#target'),
    slice(dataset.color, first, BATCH, 3),
    BATCH,
    IMAGE_SIZE,
    3,
    IMAGE_GAP,
  );
  return {backend, batches, preview, runs: makeRuns()};
}

function disposeSession(s: Session): void {
  for (const {input, target} of s.batches) tf.dispose([input, target]);
  s.preview.dispose();
  s.runs.fused.dispose();
  s.runs.composite.dispose();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function msPerStep(run: TrainingRun): number | undefined {
  return run.stepMs.length > WARMUP
    ? median(run.stepMs.slice(Math.max(WARMUP, run.stepMs.length - WINDOW)))
    : undefined;
}

// ---- drawing ----

function renderControls(): void {
  for (const b of backendButtons) {
    const name = b.dataset.backend as BackendName;
    b.setAttribute('aria-pressed', String(session?.backend === name));
    b.disabled = unavailable.has(name) || benchBusy;
    b.title = unavailable.get(name) ?? `Train on ${BACKEND_LABELS[name]}`;
  }
  for (const b of normButtons) b.setAttribute('aria-pressed', String(b.dataset.norm === norm));
  trainButton.textContent = running ? 'Pause' : 'Train';
}

function renderTiming(): void {
  const body = $('#timing tbody');
  body.replaceChildren(
    ...BACKEND_ORDER.map(name => {
      const t = timings.get(name) ?? {};
      const cells = [
        BACKEND_LABELS[name],
        t.fused !== undefined
          ? `${t.fused.toFixed(1)} ms`
          : unavailable.has(name)
            ? 'unavailable'
            : '—',
        t.composite !== undefined ? `${t.composite.toFixed(1)} ms` : '—',
        t.fused !== undefined && t.composite !== undefined
          ? `${(t.composite / t.fused).toFixed(2)}×`
          : '—',
      ];
      const tr = document.createElement('tr');
      tr.className = session?.backend === name ? 'active' : '';
      tr.dataset.backend = name;
      cells.forEach((text, i) => {
        const td = document.createElement('td');
        td.textContent = text;
        td.className = ['', 'fused', 'composite', 'speedup'][i];
        tr.appendChild(td);
      });
      return tr;
    }),
  );
}

function renderStatus(): void {
  if (!session) return;
  const run = session.runs[norm];
  const last = run.losses[run.losses.length - 1];
  const ms = run.stepMs[run.stepMs.length - 1];
  $('#status').textContent = [
    `${norm}: step ${run.losses.length}`,
    last !== undefined ? `loss ${last.toFixed(4)}` : 'loss —',
    ms !== undefined ? `${ms.toFixed(ms < 100 ? 1 : 0)} ms/step` : '',
    compareLeft > 0 ? `measuring both, ${compareLeft} steps left` : '',
    running ? '' : 'paused',
  ]
    .filter(Boolean)
    .join(' · ');
}

function renderPlot(): void {
  const runs = session?.runs;
  drawLossPlot(
    $('#loss-plot'),
    (['fused', 'composite'] as NormKind[]).map(kind => ({
      label: kind === 'fused' ? 'fused kernels' : 'composite (tf.moments)',
      color: NORM_COLORS[kind],
      // The fused curve is drawn wide and pale underneath: where the two coincide, both show.
      width: kind === 'fused' ? 6 : 2,
      alpha: kind === 'fused' ? 0.45 : 1,
      values: runs ? runs[kind].losses : [],
    })),
  );
}

/**
 * What "fused" runs on `backend`, as seen: tf.profile of the op's forward and
 * gradient on a tiny input lists the kernels that ran. Not getKernel: the
 * package registers its kernels for every backend name at import.
 */
async function kernelNote(backend: BackendName): Promise<string> {
  const label = BACKEND_LABELS[backend];
  const x = tf.tensor4d([1, 2, 3, 5, 8, 13, 21, 34], [1, 2, 2, 2]);
  const profile = await tf.profile(() => tf.grad(a => instanceNorm(a as tf.Tensor4D))(x));
  tf.dispose([x, profile.result as tf.Tensor]);
  const ran = new Set(profile.kernelNames);
  if (ran.has(InstanceNorm) && ran.has(InstanceNormGrad)) {
    return (
      `${label}: "fused" runs this package's InstanceNorm and InstanceNormGrad kernels ` +
      `(seen in tf.profile); "composite" runs tfjs' built-in ops (tf.moments).`
    );
  }
  return (
    `${label}: no fused kernels run on this backend (tf.profile shows built-in ops only); ` +
    `both "fused" and "composite" run tfjs' built-in ops.`
  );
}

/** The kernel note of each backend the page started, for the end-to-end test. */
const kernelNotes = new Map<BackendName, string>();

async function renderKernelNote(backend: BackendName): Promise<void> {
  const text = await kernelNote(backend).catch(e => `Could not check the kernels: ${message(e)}`);
  kernelNotes.set(backend, text);
  $('#kernels').textContent = text;
}

/**
 * tfjs-backend-wasm (4.22) has no Conv2DBackpropFilter / Conv2DBackpropInput
 * kernels: the demo's convolutions cannot train there. Said in words, before
 * a step fails on it.
 */
function checkCanTrain(backend: BackendName): void {
  const missing = ['Conv2DBackpropFilter', 'Conv2DBackpropInput'].filter(
    k => tf.getKernel(k, backend) == null,
  );
  if (missing.length > 0) {
    throw new Error(
      `tfjs' ${BACKEND_LABELS[backend]} backend has no ${missing.join(' / ')} kernel, so the ` +
        `demo's convolutions cannot train on it (the note above says what instance norm runs there).`,
    );
  }
}

async function renderOutput(s: Session): Promise<void> {
  const output = tf.tidy(() => s.runs[norm].predict(s.preview));
  const data = (await output.data()) as Float32Array;
  output.dispose();
  drawImageRow($('#output'), data, BATCH, IMAGE_SIZE, 3, IMAGE_GAP);
}

// ---- training ----

async function trainLoop(token: number): Promise<void> {
  while (token === generation && running && !benchBusy && session) {
    const s = session;
    const run = s.runs[compareLeft > 0 ? (compareLeft % 2 ? 'composite' : 'fused') : norm];
    if (compareLeft > 0) compareLeft--;
    let failed: unknown = null;
    stepping = (async () => {
      const batch = s.batches[run.losses.length % s.batches.length];
      try {
        const loss = await run.step(batch.input, batch.target);
        tensorsAfterStep = tf.memory().numTensors;
        if (s.backend === 'webgpu' && gpuError !== null) {
          throw new Error(`the GPU reported an error: ${gpuError}`);
        }
        if (!Number.isFinite(loss)) {
          throw new Error(`step ${run.losses.length} gave a loss of ${loss}`);
        }
        const t = timings.get(s.backend) ?? {};
        t[run.kind] = msPerStep(run);
        timings.set(s.backend, t);
        if (run.losses.length % DRAW_EVERY === 0 || run.losses.length === 1) {
          await renderOutput(s);
          renderPlot();
          renderTiming();
        }
        renderStatus();
      } catch (e) {
        failed = e;
      }
    })();
    await stepping;
    if (failed !== null) {
      await fallBack(
        s.backend,
        `Training on ${BACKEND_LABELS[s.backend]} failed: ${message(failed)}`,
      );
      return;
    }
    // Let the page paint and handle clicks between steps.
    await new Promise(resolve => setTimeout(resolve, 0));
  }
}

function startTraining(): void {
  const token = ++generation;
  renderControls();
  renderStatus();
  if (running) void trainLoop(token);
}

/** Tears down the current backend's session and builds one on `name`; throws in words. */
async function useBackend(name: BackendName): Promise<void> {
  generation++;
  await stepping;
  if (session) {
    disposeSession(session);
    session = null;
  }
  await activateBackend(name);
  gpuError = null;
  await renderKernelNote(name);
  checkCanTrain(name);
  session = makeSession(name);
  renderControls();
  renderPlot();
  renderTiming();
  await renderOutput(session);
}

/** Marks `failed` unusable with `reason` and moves to the next backend that works. */
async function fallBack(failed: BackendName, reason: string): Promise<void> {
  unavailable.set(failed, reason);
  const next = BACKEND_ORDER.slice(BACKEND_ORDER.indexOf(failed) + 1).find(
    b => !unavailable.has(b),
  );
  say('error', next ? `${reason} Falling back to ${BACKEND_LABELS[next]}.` : reason);
  renderTiming();
  if (next) await pickFrom(next);
}

/** Starts on the first backend, from `first` on in order, that comes up. */
async function pickFrom(first: BackendName): Promise<void> {
  for (const name of BACKEND_ORDER.slice(BACKEND_ORDER.indexOf(first))) {
    if (unavailable.has(name)) continue;
    try {
      await useBackend(name);
      startTraining();
      return;
    } catch (e) {
      unavailable.set(name, message(e));
      const next = BACKEND_ORDER.slice(BACKEND_ORDER.indexOf(name) + 1).find(
        b => !unavailable.has(b),
      );
      say(
        'error',
        `${BACKEND_LABELS[name]} is unavailable: ${message(e)}` +
          (next ? ` Falling back to ${BACKEND_LABELS[next]}.` : ''),
      );
      renderControls();
    }
  }
  $('#status').textContent = 'No backend could start.';
}

// ---- controls ----

for (const b of backendButtons) {
  b.addEventListener('click', () => {
    const name = b.dataset.backend as BackendName;
    if (name === session?.backend || benchBusy) return;
    void pickFrom(name).then(() => {
      if (session?.backend === name) say('info', `Switched to ${BACKEND_LABELS[name]}.`);
    });
  });
}
for (const b of normButtons) {
  b.addEventListener('click', () => {
    norm = b.dataset.norm as NormKind;
    startTraining();
    if (session) void renderOutput(session);
  });
}
trainButton.addEventListener('click', () => {
  running = !running;
  startTraining();
});
$('#compare').addEventListener('click', () => {
  if (!session || benchBusy) return;
  // Enough steps for a full window of each run, past its warm-up.
  const need = (run: TrainingRun) => WINDOW + Math.max(0, WARMUP - run.stepMs.length);
  compareLeft = 2 * Math.max(need(session.runs.fused), need(session.runs.composite));
  running = true;
  startTraining();
});
$('#reset').addEventListener('click', () => {
  if (session && !benchBusy) void pickFrom(session.backend);
});

setUpBenchPanel($('#bench-run'), $('#bench'), {
  pauseTraining: async () => {
    benchBusy = true;
    generation++;
    renderControls();
    await stepping;
    return session?.backend ?? null;
  },
  resumeTraining: async (backend: string | null) => {
    // The benchmark leaves tfjs on its last backend; the demo's tensors live on this one.
    if (backend) await activateBackend(backend as BackendName);
    benchBusy = false;
    startTraining();
  },
  say,
});

window.addEventListener('error', e => say('error', `Unexpected error: ${e.message}`));
window.addEventListener('unhandledrejection', e =>
  say('error', `Unexpected error: ${message(e.reason)}`),
);

/** Read by the end-to-end test (test/e2e/demo.e2e.mjs). */
(window as unknown as {demo: unknown}).demo = {
  hasKernels: (backend: string) =>
    tf.getKernel(InstanceNorm, backend) != null && tf.getKernel(InstanceNormGrad, backend) != null,
  snapshot: () => ({
    backend: session?.backend ?? null,
    kernelNote: $('#kernels').textContent,
    kernelNotes: Object.fromEntries(kernelNotes),
    norm,
    running,
    compareLeft,
    tensorsAfterStep,
    losses: {
      fused: [...(session?.runs.fused.losses ?? [])],
      composite: [...(session?.runs.composite.losses ?? [])],
    },
    timings: Object.fromEntries(timings),
    unavailable: Object.fromEntries(unavailable),
    messages: [...messages],
  }),
};

$('#loss-caption').textContent =
  `batches of ${BATCH}, ${IMAGE_SIZE}×${IMAGE_SIZE}, Adam; same initial weights and batches for both`;
renderControls();
renderTiming();
renderPlot();
const requested = new URLSearchParams(location.search).get('backend') as BackendName | null;
void pickFrom(requested && BACKEND_ORDER.includes(requested) ? requested : BACKEND_ORDER[0]).then(
  () => {
    if (session) {
      const best = session.backend === BACKEND_ORDER.find(b => !unavailable.has(b));
      say(
        'info',
        `Training on ${BACKEND_LABELS[session.backend]}` +
          (best ? ', the best backend this browser offers.' : '.'),
      );
    }
  },
);
