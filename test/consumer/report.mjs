// The counts of the consumer tests: every check prints one `ok` / `FAIL` /
// `skip` line, and the runner writes the totals for scripts/test.mjs.
import fs from 'node:fs';
import path from 'node:path';

export const counts = {passed: 0, failed: 0, skipped: 0};

export function record(name, ok, detail = '') {
  counts[ok ? 'passed' : 'failed']++;
  console.log(`${ok ? 'ok' : 'FAIL'} - ${name}${detail && !ok ? ` (${detail})` : ''}`);
}

/** Records the `{name, ok, detail}` results an app printed or a page returned. */
export function recordAll(results) {
  for (const r of results) record(r.name, r.ok, r.detail);
}

export const seconds = start => `${((Date.now() - start) / 1000).toFixed(1)} s`;

/** Runs a step; an exception counts as one failure and the other steps still run. */
export async function step(name, body) {
  console.log(`\n--- ${name}`);
  const start = Date.now();
  try {
    await body();
  } catch (error) {
    record(`${name}: completes`, false, error.stack || String(error));
  }
  console.log(`(${name}: ${seconds(start)})`);
}

/** Writes the counts to `file` and prints the closing line. */
export function writeCounts(file) {
  fs.mkdirSync(path.dirname(file), {recursive: true});
  fs.writeFileSync(file, JSON.stringify(counts));
  console.log(
    `consumers: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`,
  );
}
