// `npm test`: finds or sets up what the suite needs beyond node_modules
// (scripts/prerequisites.mjs: Chromium, the Vulkan loader, Dawn), then runs
// the set-up logic's own test, lint, the type-check, the build, the Karma
// suite in headless Chromium (every backend), the Node smoke test, the
// consumer tests (test/consumer/run.mjs: the packed tarball installed in temp
// folders) and the demo's end-to-end test, every step even when an earlier
// one failed, and prints one closing line `N passed, N failed, N skipped`
// summed over all (a step that writes no counts is one check).
// `npm test -- karma node` runs only the steps named; SPEC and BACKENDS
// narrow the Karma step (karma.conf.js).
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';

import {ensurePrerequisites} from './prerequisites.mjs';

const steps = [
  {
    name: 'setup',
    cmd: 'node',
    args: ['test/node/prerequisites.mjs'],
    counts: '.tmp/results/setup.json',
  },
  {name: 'lint', cmd: 'npm', args: ['run', 'lint']},
  {name: 'typecheck', cmd: 'npm', args: ['run', 'typecheck']},
  {name: 'build', cmd: 'npm', args: ['run', 'build']},
  {
    name: 'karma',
    cmd: 'npx',
    args: ['karma', 'start', 'karma.conf.js', '--single-run'],
    counts: '.tmp/results/karma.json',
  },
  {
    name: 'node',
    cmd: 'node',
    args: ['test/node/smoke.mjs'],
    counts: '.tmp/results/node.json',
  },
  {
    name: 'consumers',
    cmd: 'node',
    args: ['test/consumer/run.mjs'],
    counts: '.tmp/results/consumer.json',
  },
  {
    name: 'e2e',
    cmd: 'node',
    args: ['test/e2e/demo.e2e.mjs'],
    counts: '.tmp/results/e2e.json',
  },
];

const only = process.argv.slice(2);
const unknown = only.filter(name => !steps.some(s => s.name === name));
if (unknown.length > 0) {
  console.log(
    `unknown step ${unknown.join(', ')}: the steps are ${steps.map(s => s.name).join(', ')}`,
  );
  process.exit(1);
}

const missing = ensurePrerequisites();
if (missing != null) {
  console.log(missing);
  process.exit(1);
}

fs.rmSync('.tmp/results', {recursive: true, force: true});
const total = {passed: 0, failed: 0, skipped: 0};
for (const step of steps.filter(s => only.length === 0 || only.includes(s.name))) {
  console.log(`\n=== ${step.name} ===`);
  const result = spawnSync(step.cmd, step.args, {stdio: 'inherit'});
  const counted = step.counts != null && fs.existsSync(step.counts);
  const counts = counted
    ? JSON.parse(fs.readFileSync(step.counts, 'utf8'))
    : {passed: result.status === 0 ? 1 : 0, failed: 0};
  total.passed += counts.passed;
  total.failed += counts.failed;
  total.skipped += counts.skipped ?? 0;
  if (result.status !== 0 && !(counts.failed > 0)) {
    // A step that failed without reporting a failed test still fails the run.
    total.failed++;
    console.log(`${step.name} exited with ${result.status}`);
  }
}
console.log(`\n${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.failed > 0 || total.passed === 0 ? 1 : 0);
