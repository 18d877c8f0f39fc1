// What `npm test` needs beyond node_modules, found or set up before the suite
// runs, so that `npm install && npm test` runs everything on a fresh machine:
//   - Chromium (Karma, the consumer pages, the demo's end-to-end test):
//     $CHROME_BIN, /usr/bin/chromium or /usr/bin/chromium-browser;
//   - on Linux, the Vulkan loader (Debian's libvulkan1), through which Dawn
//     reaches Chromium's SwiftShader Vulkan driver (or a GPU's);
//   - Dawn (npm `webgpu`, a 51 MB addon) in the cache, for the Node + WebGPU
//     consumer test (scripts/dawn.mjs fetches it).
// Missing system packages are installed with apt-get when running as root
// where apt-get exists; otherwise one line says the command to run.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import {createRequire} from 'node:module';

import {DAWN_VERSION, dawnPath} from './dawn.mjs';

const {findChromium} = createRequire(import.meta.url)('./chromium.cjs');

/** The Debian packages that provide what is missing. */
export function missingPackages({chromium, vulkanLoader, platform}) {
  const missing = [];
  if (!chromium) missing.push('chromium');
  if (platform === 'linux' && !vulkanLoader) missing.push('libvulkan1');
  return missing;
}

/**
 * What to do about the missing packages: nothing, install them with apt-get
 * (as root where apt-get exists), or stop with one line that says what to run.
 */
export function planInstall(missing, {isRoot, hasApt}) {
  if (missing.length === 0) return {action: 'none'};
  const list = missing.join(' ');
  if (hasApt && isRoot) return {action: 'apt', packages: missing};
  if (hasApt) {
    return {
      action: 'stop',
      message:
        `npm test needs ${list}: run \`sudo apt-get install -y ${list}\`, ` +
        'then npm test again.',
    };
  }
  const what = missing.map(p =>
    p === 'chromium' ? 'Chromium (or set CHROME_BIN)' : 'the Vulkan loader (libvulkan1)',
  );
  return {
    action: 'stop',
    message:
      `npm test needs ${what.join(' and ')}: install ${missing.length > 1 ? 'them' : 'it'}, ` +
      'then npm test again.',
  };
}

/** Whether the dynamic linker finds libvulkan.so.1. */
function hasVulkanLoader() {
  for (const ldconfig of ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    const listed = spawnSync(ldconfig, ['-p'], {encoding: 'utf8'});
    if (listed.status === 0) return /libvulkan\.so\.1\b/.test(listed.stdout);
  }
  return ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'].some(
    dir => fs.existsSync(`${dir}/libvulkan.so.1`),
  );
}

/** This machine, as missingPackages and planInstall read it. */
export function probeSystem() {
  return {
    chromium: findChromium(),
    vulkanLoader: process.platform === 'linux' && hasVulkanLoader(),
    platform: process.platform,
    isRoot: process.getuid?.() === 0,
    hasApt: spawnSync('sh', ['-c', 'command -v apt-get'], {stdio: 'ignore'}).status === 0,
  };
}

function aptInstall(packages) {
  console.log(`installing ${packages.join(', ')} with apt-get`);
  const env = {...process.env, DEBIAN_FRONTEND: 'noninteractive'};
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', ...packages],
  ]) {
    const result = spawnSync('apt-get', args, {env, stdio: ['ignore', 'ignore', 'inherit']});
    if (result.status !== 0) return false;
  }
  return true;
}

/**
 * Finds or sets up everything; returns null when all is there, else the one
 * line that says what is missing and what to run.
 */
export function ensurePrerequisites(probe = probeSystem) {
  const system = probe();
  const plan = planInstall(missingPackages(system), system);
  if (plan.action === 'stop') return plan.message;
  if (plan.action === 'apt') {
    const still = aptInstall(plan.packages) ? missingPackages(probe()) : plan.packages;
    if (still.length > 0) {
      return `apt-get could not install ${still.join(' ')}: install it, then npm test again.`;
    }
  }
  try {
    const addon = dawnPath();
    console.log(`Chromium: ${findChromium()}; Dawn: ${addon}`);
  } catch (error) {
    const why = error.message.split('\n')[0];
    return (
      `npm test needs Dawn (npm webgpu@${DAWN_VERSION}) and could not fetch it (${why}): ` +
      'run `node scripts/dawn.mjs` where the npm registry is reachable, or set DAWN_NODE.'
    );
  }
  return null;
}
