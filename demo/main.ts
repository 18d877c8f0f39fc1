/**
 * The demo page: picks the best backend, trains the painter network live,
 * times fused against composite instance norm, trains a conditional painter
 * that paints in any of several palettes (the style id picks one), runs the
 * quick benchmark, and says in words what went wrong when something does.
 */
import * as tf from '@tensorflow/tfjs-core';

import {hasFusedKernels, InstanceNorm, InstanceNormGrad, instanceNorm} from '../src/index';
import {median} from '../support/index';
import {
  activateBackend,
  BACKEND_LABELS,
  BACKEND_ORDER,
  BackendName,
  message,
  setGpuErrorHandler,
} from './backends';
import {setUpBenchPanel} from './bench_panel';
import {BATCH, DATASET_SIZE, IMAGE_SIZE, makeDataset, PALETTES} from './data';
import {makeConditionalRun, makeRuns, NormKind, PainterKind, TrainingRun} from './model';
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
const NORM_COLORS: Record<NormKind, string> = {
  fused: '#2f6fdb',
  composite: '#e07b27',
  conditional: '#2e9e5b',
};
const NORM_LABELS: Record<NormKind, string> = {
  fused: 'fused kernels',
  composite: 'composite (tf.moments)',
  conditional: `conditional, ${PALETTES.length} styles`,
};

const $ = <T extends HTMLElement>(selector: string) => document.querySelector(selector) as T;
const backendButtons = Array.from(document.querySelectorAll<HTMLButtonElement>('[data-backend]'));
const normButtons = Array.from(document.querySelectorAll<HTMLButtonElement>('[data-norm]'));
/** One button per palette: its index is the style id. */
const styleButtons = PALETTES.map((palette, id) => {
  const b = document.createElement('button');
  b.type = 'button';
  b.dataset.style = String(id);
  b.textContent = palette.name;
  $('#styles').appendChild(b);
  return b;
});
const trainButton = $<HTMLButtonElement>('#train');

/**
 * Everything tied to one backend: the data tensors and the runs. The
 * conditional run trains on `styledTargets[rotation][batch]`, image i of a
 * batch painted in palette `styleIds[rotation][i]`: each rotation shifts the
 * palettes by one, so every scene is seen in every style.
 */
interface BackendModels {
  backend: BackendName;
  batches: Array<{input: tf.Tensor4D; target: tf.Tensor4D}>;
  styledTargets: tf.Tensor4D[][];
  styleIds: tf.Tensor1D[];
  preview: tf.Tensor4D;
  /** Per palette: the held-out batch's style ids (all that palette). */
  previewIds: tf.Tensor1D[];
  /** The conditional run is built when its mode is first picked on this backend. */
  runs: Record<PainterKind, TrainingRun> & {conditional?: TrainingRun};
}

const dataset = makeDataset();
const PIXELS = IMAGE_SIZE * IMAGE_SIZE;
/** The last batch is held out: the page shows how the network does on scenes it never trained on. */
const TRAIN_BATCHES = DATASET_SIZE / BATCH - 1;

/** The page's state: one object, read and changed by the functions below. */
const state = {
  models: null as BackendModels | null,
  norm: 'fused' as NormKind,
  /** The palette the held-out scenes are painted in (conditional mode). */
  style: 0,
  running: true,
  /** True while the benchmark panel runs: training and backend switches wait. */
  benchBusy: false,
  /** Steps left of a "Measure both" sequence, which alternates composite and fused. */
  compareLeft: 0,
  /** The first WebGPU validation error since the last step (a shader that did not compile, ...). */
  gpuError: null as string | null,
  /** tf.memory().numTensors after the last step: steady once Adam has its slots (the e2e test checks). */
  tensorsAfterStep: 0,
  /** The step in flight; a backend switch waits for it before disposing anything. */
  stepping: Promise.resolve() as Promise<void>,
  /** Bumped to stop the current training loop. */
  generation: 0,
  unavailable: new Map<BackendName, string>(),
  /** Median ms per step, per backend and norm, kept across backend switches. */
  timings: new Map<BackendName, Partial<Record<NormKind, number>>>(),
  messages: [] as Array<{kind: 'error' | 'info'; text: string}>,
  /** The kernel note of each backend the page started, for the end-to-end test. */
  kernelNotes: new Map<BackendName, string>(),
};

setGpuErrorHandler(text => {
  // A WebGPU device left behind by a switch can still report late errors.
  if (tf.getBackend() === 'webgpu') state.gpuError ??= text;
});

function say(kind: 'error' | 'info', text: string): void {
  state.messages.push({kind, text});
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

function makeModels(backend: BackendName): BackendModels {
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
  drawTargets();
  const styles = PALETTES.length;
  const styleIds = Array.from({length: styles}, (_, rotation) =>
    tf.tensor1d(
      Array.from({length: BATCH}, (_, i) => (i + rotation) % styles),
      'int32',
    ),
  );
  const styledTargets = Array.from({length: styles}, (_, rotation) =>
    Array.from({length: TRAIN_BATCHES}, (_, b) => {
      const images = Array.from({length: BATCH}, (_, i) =>
        slice(dataset.styled[(i + rotation) % styles], b * BATCH + i, 1, 3),
      );
      const data = new Float32Array(BATCH * PIXELS * 3);
      images.forEach((image, i) => data.set(image, i * PIXELS * 3));
      return tf.tensor4d(data, [BATCH, IMAGE_SIZE, IMAGE_SIZE, 3]);
    }),
  );
  const previewIds = PALETTES.map((_, s) => tf.fill([BATCH], s, 'int32') as tf.Tensor1D);
  return {
    backend,
    batches,
    styledTargets,
    styleIds,
    preview,
    previewIds,
    runs: makeRuns(),
  };
}

function disposeModels(s: BackendModels): void {
  for (const {input, target} of s.batches) tf.dispose([input, target]);
  tf.dispose([...s.styledTargets.flat(), ...s.styleIds, ...s.previewIds, s.preview]);
  for (const run of Object.values(s.runs)) run.dispose();
}

/** The run of `kind` (the conditional one exists once its mode was picked on this backend). */
function runOf(s: BackendModels, kind: NormKind): TrainingRun {
  const run = s.runs[kind];
  if (!run) throw new Error(`no ${kind} run on ${s.backend}`);
  return run;
}

/**
 * Builds the conditional run of `s` if it has none; where that fails (a
 * backend without the kernels' per-image gamma/beta), says so and goes back
 * to the fused painter: the backend itself still trains.
 */
function ensureConditional(s: BackendModels): void {
  if (s.runs.conditional || state.norm !== 'conditional') return;
  try {
    s.runs.conditional = makeConditionalRun(PALETTES.length);
  } catch (e) {
    leaveConditional(s, e);
  }
}

/** Drops the conditional run of `s` after `error`, in words, and trains the fused painter. */
function leaveConditional(s: BackendModels, error: unknown): void {
  s.runs.conditional?.dispose();
  delete s.runs.conditional;
  say(
    'error',
    `The conditional mode failed on ${BACKEND_LABELS[s.backend]}: ${message(error)} ` +
      'Back to the fused painter.',
  );
  state.norm = 'fused';
  // A WebGPU error of the conditional run's programs is its own.
  state.gpuError = null;
  drawTargets();
  renderControls();
}

/** The held-out targets, in the palette the page shows. */
function drawTargets(): void {
  const first = TRAIN_BATCHES * BATCH;
  const palette = state.norm === 'conditional' ? state.style : 0;
  drawImageRow(
    $('#target'),
    slice(dataset.styled[palette], first, BATCH, 3),
    BATCH,
    IMAGE_SIZE,
    3,
    IMAGE_GAP,
  );
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
    b.setAttribute('aria-pressed', String(state.models?.backend === name));
    b.disabled = state.unavailable.has(name) || state.benchBusy;
    b.title = state.unavailable.get(name) ?? `Train on ${BACKEND_LABELS[name]}`;
  }
  for (const b of normButtons)
    b.setAttribute('aria-pressed', String(b.dataset.norm === state.norm));
  for (const b of styleButtons) {
    b.setAttribute('aria-pressed', String(Number(b.dataset.style) === state.style));
    b.disabled = state.norm !== 'conditional';
    b.title =
      state.norm === 'conditional'
        ? `Paint the held-out scenes in the ${b.textContent} palette (style id ${b.dataset.style})`
        : 'Styles: pick "Conditional" under Instance norm';
  }
  trainButton.textContent = state.running ? 'Pause' : 'Train';
}

function renderTiming(): void {
  const body = $('#timing tbody');
  body.replaceChildren(
    ...BACKEND_ORDER.map(name => {
      const t = state.timings.get(name) ?? {};
      const cells = [
        BACKEND_LABELS[name],
        t.fused !== undefined
          ? `${t.fused.toFixed(1)} ms`
          : state.unavailable.has(name)
            ? 'unavailable'
            : '—',
        t.composite !== undefined ? `${t.composite.toFixed(1)} ms` : '—',
        t.fused !== undefined && t.composite !== undefined
          ? `${(t.composite / t.fused).toFixed(2)}×`
          : '—',
      ];
      const tr = document.createElement('tr');
      tr.className = state.models?.backend === name ? 'active' : '';
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
  if (!state.models) return;
  const run = state.models.runs[state.norm];
  if (!run) return;
  const last = run.losses[run.losses.length - 1];
  const ms = run.stepMs[run.stepMs.length - 1];
  $('#status').textContent = [
    `${state.norm}: step ${run.losses.length}`,
    last !== undefined ? `loss ${last.toFixed(4)}` : 'loss —',
    ms !== undefined ? `${ms.toFixed(ms < 100 ? 1 : 0)} ms/step` : '',
    state.compareLeft > 0 ? `measuring both, ${state.compareLeft} steps left` : '',
    state.running ? '' : 'paused',
  ]
    .filter(Boolean)
    .join(' · ');
}

function renderPlot(): void {
  const runs = state.models?.runs;
  drawLossPlot(
    $('#loss-plot'),
    (['fused', 'composite', 'conditional'] as NormKind[]).map(kind => ({
      label: NORM_LABELS[kind],
      color: NORM_COLORS[kind],
      // The fused curve is drawn wide and pale underneath: where the two coincide, both show.
      width: kind === 'fused' ? 6 : 2,
      alpha: kind === 'fused' ? 0.45 : 1,
      values: runs?.[kind]?.losses ?? [],
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

async function renderKernelNote(backend: BackendName): Promise<void> {
  const text = await kernelNote(backend).catch(e => `Could not check the kernels: ${message(e)}`);
  state.kernelNotes.set(backend, text);
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

async function renderOutput(s: BackendModels): Promise<void> {
  const ids = state.norm === 'conditional' ? s.previewIds[state.style] : null;
  const output = runOf(s, state.norm).predict(s.preview, ids);
  const data = (await output.data()) as Float32Array;
  output.dispose();
  drawImageRow($('#output'), data, BATCH, IMAGE_SIZE, 3, IMAGE_GAP);
}

// ---- training ----

async function trainLoop(token: number): Promise<void> {
  while (token === state.generation && state.running && !state.benchBusy && state.models) {
    const s = state.models;
    const run =
      s.runs[state.compareLeft > 0 ? (state.compareLeft % 2 ? 'composite' : 'fused') : state.norm];
    if (!run) return;
    if (state.compareLeft > 0) state.compareLeft--;
    let failed: unknown = null;
    state.stepping = (async () => {
      const step = run.losses.length;
      const batch = s.batches[step % s.batches.length];
      // The conditional run: the same scenes, each painted in the palette of its style id.
      const rotation = Math.floor(step / s.batches.length) % PALETTES.length;
      try {
        const loss =
          run.kind === 'conditional'
            ? await run.step(
                batch.input,
                s.styledTargets[rotation][step % s.batches.length],
                s.styleIds[rotation],
              )
            : await run.step(batch.input, batch.target);
        state.tensorsAfterStep = tf.memory().numTensors;
        if (s.backend === 'webgpu' && state.gpuError !== null) {
          throw new Error(`the GPU reported an error: ${state.gpuError}`);
        }
        if (!Number.isFinite(loss)) {
          throw new Error(`step ${run.losses.length} gave a loss of ${loss}`);
        }
        const t = state.timings.get(s.backend) ?? {};
        t[run.kind] = msPerStep(run);
        state.timings.set(s.backend, t);
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
    await state.stepping;
    if (failed !== null && run.kind === 'conditional') {
      leaveConditional(s, failed);
      continue;
    }
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
  const token = ++state.generation;
  renderControls();
  renderStatus();
  if (state.running) void trainLoop(token);
}

/** Tears down the current backend's models and builds one on `name`; throws in words. */
async function useBackend(name: BackendName): Promise<void> {
  state.generation++;
  await state.stepping;
  if (state.models) {
    disposeModels(state.models);
    state.models = null;
  }
  await activateBackend(name);
  state.gpuError = null;
  await renderKernelNote(name);
  checkCanTrain(name);
  state.models = makeModels(name);
  ensureConditional(state.models);
  renderControls();
  renderPlot();
  renderTiming();
  await renderOutput(state.models);
}

/** Marks `failed` unusable with `reason` and moves to the next backend that works. */
async function fallBack(failed: BackendName, reason: string): Promise<void> {
  state.unavailable.set(failed, reason);
  const next = BACKEND_ORDER.slice(BACKEND_ORDER.indexOf(failed) + 1).find(
    b => !state.unavailable.has(b),
  );
  say('error', next ? `${reason} Falling back to ${BACKEND_LABELS[next]}.` : reason);
  renderTiming();
  if (next) await pickFrom(next);
}

/** Starts on the first backend, from `first` on in order, that comes up. */
async function pickFrom(first: BackendName): Promise<void> {
  for (const name of BACKEND_ORDER.slice(BACKEND_ORDER.indexOf(first))) {
    if (state.unavailable.has(name)) continue;
    try {
      await useBackend(name);
      startTraining();
      return;
    } catch (e) {
      state.unavailable.set(name, message(e));
      const next = BACKEND_ORDER.slice(BACKEND_ORDER.indexOf(name) + 1).find(
        b => !state.unavailable.has(b),
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
    if (name === state.models?.backend || state.benchBusy) return;
    void pickFrom(name).then(() => {
      if (state.models?.backend === name) say('info', `Switched to ${BACKEND_LABELS[name]}.`);
    });
  });
}
for (const b of normButtons) {
  b.addEventListener('click', () => {
    state.norm = b.dataset.norm as NormKind;
    if (state.models) ensureConditional(state.models);
    startTraining();
    drawTargets();
    if (state.models) void renderOutput(state.models);
  });
}
for (const b of styleButtons) {
  b.addEventListener('click', () => {
    // Another row of the gamma/beta tables: a repaint, no training.
    state.style = Number(b.dataset.style);
    renderControls();
    drawTargets();
    if (state.models) void renderOutput(state.models);
  });
}
trainButton.addEventListener('click', () => {
  state.running = !state.running;
  startTraining();
});
$('#compare').addEventListener('click', () => {
  if (!state.models || state.benchBusy) return;
  // Enough steps for a full window of each run, past its warm-up.
  const need = (run: TrainingRun) => WINDOW + Math.max(0, WARMUP - run.stepMs.length);
  state.compareLeft =
    2 * Math.max(need(state.models.runs.fused), need(state.models.runs.composite));
  state.running = true;
  startTraining();
});
$('#reset').addEventListener('click', () => {
  if (state.models && !state.benchBusy) void pickFrom(state.models.backend);
});

setUpBenchPanel($('#bench-run'), $('#bench'), {
  pauseTraining: async () => {
    state.benchBusy = true;
    state.generation++;
    renderControls();
    await state.stepping;
    return state.models?.backend ?? null;
  },
  resumeTraining: async (backend: string | null) => {
    // The benchmark leaves tfjs on its last backend; the demo's tensors live on this one.
    if (backend) await activateBackend(backend as BackendName);
    state.benchBusy = false;
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
  hasKernels: (backend: string) => hasFusedKernels(backend),
  snapshot: () => ({
    backend: state.models?.backend ?? null,
    kernelNote: $('#kernels').textContent,
    kernelNotes: Object.fromEntries(state.kernelNotes),
    norm: state.norm,
    style: state.style,
    running: state.running,
    compareLeft: state.compareLeft,
    tensorsAfterStep: state.tensorsAfterStep,
    losses: {
      fused: [...(state.models?.runs.fused.losses ?? [])],
      composite: [...(state.models?.runs.composite.losses ?? [])],
      conditional: [...(state.models?.runs.conditional?.losses ?? [])],
    },
    timings: Object.fromEntries(state.timings),
    unavailable: Object.fromEntries(state.unavailable),
    messages: [...state.messages],
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
    if (state.models) {
      const best = state.models.backend === BACKEND_ORDER.find(b => !state.unavailable.has(b));
      say(
        'info',
        `Training on ${BACKEND_LABELS[state.models.backend]}` +
          (best ? ', the best backend this browser offers.' : '.'),
      );
    }
  },
);
