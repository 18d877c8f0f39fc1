/**
 * The benchmark panel: runs the quick benchmark of bench/ (the same code as
 * `npm run bench -- --quick`) in this tab and shows its table. Training is
 * paused meanwhile, so the two do not compete for the GPU.
 */

export interface BenchHooks {
  /** Stops training; resolves with the backend to return to. */
  pauseTraining(): Promise<string|null>;
  resumeTraining(backend: string|null): Promise<void>;
  say(kind: 'error'|'info', text: string): void;
}

export function setUpBenchPanel(button: HTMLButtonElement, body: HTMLElement, hooks: BenchHooks): void {
  // TODO(bench): call the quick suite of bench/bench.ts once the bench branch exports it.
  body.textContent = 'The quick benchmark is not in this build yet.';
  button.disabled = true;
  void hooks;
}
