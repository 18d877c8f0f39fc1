// Temporary consumer apps: a folder with its own package.json into which the
// tfjs packages are installed FIRST and THEN the packed tarball, each with a
// plain `npm install` (no --force, no --legacy-peer-deps), as an app adding
// the package does. npm's own cache serves the repeated installs.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import {recordAll, seconds} from './report.mjs';

/** The files copied into the apps (checks, entry points, pages). */
export const APP_FILES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'apps');
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

/** Runs a command to completion; throws with its output when it fails. */
export function run(cmd, args, cwd, env = {}) {
  const result = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env: {...process.env, ...env},
  });
  if (result.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} (in ${cwd}) exited with ${result.status}:\n` +
        `${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

/** Runs a Node app in `dir` that prints its results as JSON on its last line; records them. */
export function runNodeApp(dir, args, env) {
  const lines = run(process.execPath, args, dir, env).trim().split('\n');
  recordAll(JSON.parse(lines[lines.length - 1]));
}

/** Copies files of apps/ into `dir`. */
export function copyAppFiles(dir, files) {
  for (const file of files) fs.copyFileSync(path.join(APP_FILES, file), path.join(dir, file));
}

/**
 * Makes the app `dir`: `packages` installed, then `packed.tarball`; the
 * checks and the float64 reference copied in.
 */
export function makeApp(dir, packages, packed) {
  fs.mkdirSync(dir, {recursive: true});
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({name: path.basename(dir), private: true, version: '0.0.0'}, null, 2),
  );
  const start = Date.now();
  run('npm', ['install', ...NPM_FLAGS, ...packages], dir);
  run('npm', ['install', ...NPM_FLAGS, packed.tarball], dir);
  console.log(`installed ${packages.join(' ')}, then the tarball: ${seconds(start)}`);
  copyAppFiles(dir, ['checks.mjs']);
  fs.copyFileSync(packed.reference, path.join(dir, 'reference.mjs'));
}

export function installed(dir, name) {
  return fs.existsSync(path.join(dir, 'node_modules', name, 'package.json'));
}

/** `a` >= `b` for plain x.y.z versions. */
export function atLeast(a, b) {
  const [pa, pb] = [a, b].map(v => v.split('.').map(Number));
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] > pb[i];
  return true;
}
