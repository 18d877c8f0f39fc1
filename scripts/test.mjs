// `npm test`: builds the package, runs the Karma suite in headless Chromium
// (every backend), the Node smoke test, the consumer tests (the packed
// tarball installed in temp folders: Node, a bundled app, a script tag) and
// the demo's end-to-end test (the served page in headless Chromium), and
// prints one closing line `N passed, N failed, N skipped` summed over all.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';

const steps = [
  {name: 'build', cmd: 'npm', args: ['run', 'build'], counts: null},
  {
    name: 'karma',
    cmd: 'npx',
    args: ['karma', 'start', 'karma.conf.js', '--single-run'],
    counts: '.tmp/results/karma.json',
  },
  {
    name: 'node smoke',
    cmd: 'node',
    args: ['test/node/smoke.mjs'],
    counts: '.tmp/results/node.json',
  },
  {
    name: 'consumers',
    cmd: 'node',
    args: ['scripts/consumer_tests.mjs'],
    counts: '.tmp/results/consumer.json',
  },
  {
    name: 'demo end-to-end',
    cmd: 'node',
    args: ['test/e2e/demo.e2e.mjs'],
    counts: '.tmp/results/e2e.json',
  },
];

fs.rmSync('.tmp/results', {recursive: true, force: true});
const total = {passed: 0, failed: 0, skipped: 0};
for (const step of steps) {
  console.log(`\n=== ${step.name} ===`);
  const result = spawnSync(step.cmd, step.args, {stdio: 'inherit'});
  let counted = false;
  if (step.counts && fs.existsSync(step.counts)) {
    const c = JSON.parse(fs.readFileSync(step.counts, 'utf8'));
    total.passed += c.passed;
    total.failed += c.failed;
    total.skipped += c.skipped ?? 0;
    counted = true;
  }
  if (result.status !== 0 && !(counted && total.failed > 0)) {
    // A step that failed without reporting a failed test still fails the run.
    total.failed++;
    console.log(`${step.name} exited with ${result.status}`);
  }
}
console.log(`\n${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.failed > 0 || total.passed === 0 ? 1 : 0);
