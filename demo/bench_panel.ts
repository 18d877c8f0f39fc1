/**
 * The benchmark panel: runs the quick benchmark of bench/bench.ts (the code
 * behind `npm run bench -- --quick`) in this tab, on the backend the demo is
 * training on, and shows its table. Training is paused meanwhile, so the two
 * do not compete for the GPU.
 */
// For its side effect: bench.ts defines window.runBenchmark, the entry point
// bench/run.mjs drives.
import '../bench/bench';
import type {BenchConfig, BenchOutput, CaseResult} from '../bench/bench';
import {browserConfig} from '../bench/config';

export interface BenchHooks {
  /** Stops training; resolves with the backend to return to. */
  pauseTraining(): Promise<string | null>;
  resumeTraining(backend: string | null): Promise<void>;
  say(kind: 'error' | 'info', text: string): void;
}

/**
 * The settings of `npm run bench -- --quick --no-training --no-blocks`
 * (bench/config.ts) on one backend, with smaller batches: the demo's own
 * table times training.
 */
function quickConfig(backend: string): BenchConfig {
  const config = browserConfig({
    quick: true,
    gpu: false,
    backends: [backend],
    noTraining: true,
    noBlocks: true,
  });
  return {...config, batchMs: 40, maxCalls: 8};
}

type RunBenchmark = (config: BenchConfig) => Promise<BenchOutput>;

const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

const COLUMNS: Array<[string, (c: CaseResult) => string]> = [
  ['shape', c => `${c.shape.join('×')}${c.dataFormat === 'channelsFirst' ? ' NCHW' : ''}`],
  ['fused fwd', c => fmt(c.ms.fusedFwd)],
  ['composite fwd', c => fmt(c.ms.compFwd)],
  ['fused fwd+grad', c => fmt(c.ms.fusedGrad)],
  ['composite fwd+grad', c => fmt(c.ms.compGrad)],
  ['speed-up fwd+grad', c => `${fmt(c.ms.compGrad / c.ms.fusedGrad)}×`],
];

function table(output: BenchOutput, backend: string): HTMLElement {
  const wrap = document.createElement('div');
  const caption = document.createElement('p');
  caption.className = 'note';
  const fused = output.cases.some(c => c.fusedKernels);
  caption.textContent =
    `${backend}: wall ms per call, median of ${quickConfig(backend).rounds} rounds` +
    (fused ? '.' : ' (no fused kernels in this build: both columns run built-in ops).') +
    (output.skipped.length ? ` Skipped as too slow here: ${output.skipped.length} shape(s).` : '');
  const t = document.createElement('table');
  const head = t.createTHead().insertRow();
  for (const [name] of COLUMNS) {
    const th = document.createElement('th');
    th.textContent = name;
    head.appendChild(th);
  }
  const body = t.createTBody();
  for (const c of output.cases) {
    const row = body.insertRow();
    for (const [, value] of COLUMNS) row.insertCell().textContent = value(c);
  }
  wrap.append(t, caption);
  return wrap;
}

export function setUpBenchPanel(
  button: HTMLButtonElement,
  body: HTMLElement,
  hooks: BenchHooks,
): void {
  body.innerHTML =
    '<p class="note">Times instance norm alone (forward, and forward + gradient) ' +
    'on the current backend, for the shapes of <code>npm run bench -- --quick</code>. ' +
    'Takes a minute or more on a software GPU; training pauses meanwhile.</p>';
  button.addEventListener('click', async () => {
    const runBenchmark = (window as unknown as {runBenchmark?: RunBenchmark}).runBenchmark;
    if (!runBenchmark) {
      hooks.say('error', 'The benchmark module did not load, so the benchmark cannot run.');
      return;
    }
    button.disabled = true;
    const backend = await hooks.pauseTraining();
    if (!backend) {
      button.disabled = false;
      return;
    }
    body.innerHTML = `<p class="note">Running the quick benchmark on ${backend}…</p>`;
    const started = performance.now();
    try {
      const output = await runBenchmark(quickConfig(backend));
      body.replaceChildren(table(output, backend));
      if (output.errors.length) {
        hooks.say('error', `The benchmark failed on ${backend}: ${output.errors.join('; ')}`);
        return;
      }
      hooks.say(
        'info',
        `Quick benchmark on ${backend} done in ${((performance.now() - started) / 1000).toFixed(
          0,
        )} s.`,
      );
    } catch (e) {
      body.innerHTML = '';
      hooks.say(
        'error',
        `The benchmark failed on ${backend}: ${e instanceof Error ? e.message : e}`,
      );
    } finally {
      button.disabled = false;
      await hooks.resumeTraining(backend);
    }
  });
}
