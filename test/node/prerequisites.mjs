// What `npm test` does about a missing Chromium or Vulkan loader
// (scripts/prerequisites.mjs), on made-up machines: nothing when all is
// there, apt-get as root where it exists, otherwise one line with the
// command to run.
import fs from 'node:fs';

import {missingPackages, planInstall} from '../../scripts/prerequisites.mjs';

const results = {passed: 0, failed: 0, skipped: 0};
function check(name, ok, detail = '') {
  results[ok ? 'passed' : 'failed']++;
  console.log(`${ok ? 'ok' : 'FAIL'} - ${name}${ok ? '' : ` (${detail})`}`);
}
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

const debian = {chromium: '/usr/bin/chromium', vulkanLoader: true, platform: 'linux'};
const bare = {chromium: null, vulkanLoader: false, platform: 'linux'};
for (const [name, machine, expected] of [
  ['all there', debian, []],
  ['nothing there', bare, ['chromium', 'libvulkan1']],
  ['no Chromium', {...debian, chromium: null}, ['chromium']],
  ['no Vulkan loader', {...debian, vulkanLoader: false}, ['libvulkan1']],
  ['macOS needs no Vulkan loader', {...bare, chromium: '/x/chrome', platform: 'darwin'}, []],
]) {
  const got = missingPackages(machine);
  check(`missing packages: ${name}`, same(got, expected), JSON.stringify(got));
}

const both = ['chromium', 'libvulkan1'];
const root = {isRoot: true, hasApt: true};
check(
  'nothing missing: nothing to do',
  planInstall([], root).action === 'none' && planInstall([], {}).action === 'none',
);
const apt = planInstall(both, root);
check('root with apt-get: installs them', apt.action === 'apt' && same(apt.packages, both));
const user = planInstall(both, {isRoot: false, hasApt: true});
check(
  'apt-get but not root: one line with the sudo command',
  user.action === 'stop' &&
    !user.message.includes('\n') &&
    user.message.includes('sudo apt-get install -y chromium libvulkan1'),
  user.message,
);
const other = planInstall(['chromium'], {isRoot: true, hasApt: false});
check(
  'no apt-get: one line naming what to install and CHROME_BIN',
  other.action === 'stop' && !other.message.includes('\n') && other.message.includes('CHROME_BIN'),
  other.message,
);

fs.mkdirSync('.tmp/results', {recursive: true});
fs.writeFileSync('.tmp/results/setup.json', JSON.stringify(results));
console.log(`set-up logic: ${results.passed} passed, ${results.failed} failed`);
process.exit(results.failed ? 1 : 0);
