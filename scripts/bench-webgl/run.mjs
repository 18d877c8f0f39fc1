// node scripts/bench-webgl/run.mjs [rounds]: times the webgl fused kernels
// against instanceNormComposite and one pass over x (tf.neg) in headless
// Chromium (flags of the tests), and counts draws per call.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';
import * as esbuild from 'esbuild';
import puppeteer from 'puppeteer-core';

const require = createRequire(import.meta.url);
const {CHROMIUM_FLAGS, chromiumPath} = require('../chromium.cjs');
const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.join(here, '../../.tmp/bench-webgl');
fs.mkdirSync(outDir, {recursive: true});
await esbuild.build({entryPoints: [path.join(here, 'page.ts')], bundle: true, format: 'esm',
                     target: 'es2020', outfile: path.join(outDir, 'page.js'), logLevel: 'error'});
fs.writeFileSync(path.join(outDir, 'index.html'),
                 '<!doctype html><script type="module" src="page.js"></script>\n');
const server = http.createServer((req, res) => {
  const file = path.join(outDir, path.basename(new URL(req.url, 'http://x').pathname) || 'index.html');
  if (!fs.existsSync(file) || fs.statSync(file).isDirectory()) return res.writeHead(404).end();
  res.writeHead(200, {'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/html'})
      .end(fs.readFileSync(file));
});
await new Promise(resolve => server.listen(0, 'localhost', resolve));
const browser = await puppeteer.launch({executablePath: chromiumPath(), ignoreDefaultArgs: true,
                                        args: CHROMIUM_FLAGS, protocolTimeout: 0});
try {
  const page = await browser.newPage();
  page.on('pageerror', e => console.error('page error:', e.message));
  await page.goto(`http://localhost:${server.address().port}/index.html`);
  await page.waitForFunction('window.benchReady === true', {timeout: 60000});
  const rounds = Number(process.argv[2] ?? 5);
  if (process.argv[3]) await page.evaluate(s => { globalThis.SWEEP = s; }, process.argv[3].split(',').map(Number));
  const out = await page.evaluate(r => window.runBench({
    shapes: [[[8, 64, 64, 32], 'channelsLast'], [[1, 256, 256, 16], 'channelsLast']], rounds: r}), rounds);
  const f = v => v.toFixed(2);
  for (const s of out.sweep ?? []) {
    console.log(s.shape.join('x'), 'chunk target', s.target, Object.entries(s.programs).map(([n, v]) => `${n} ${v.toFixed(2)}`).join(', '));
  }
  console.log(`WEBGL_PACK=${out.pack}`);
  console.log('| shape | of rounds | copy ms | fused fwd | comp fwd | fused fwd+grad | comp fwd+grad |' +
              ' comp/fused fwd+grad | fused fwd/copy | fused fwd+grad/copy | draws fused fwd, fwd+grad |');
  for (const [stat, key] of [['median', 'ms'], ['min', 'minMs']]) for (const r of out.results) {
    const m = r[key];
    console.log(`| ${r.shape.join('x')} | ${stat} | ${f(m.copy)} |` +
                ` ${f(m.fusedFwd)} | ${f(m.compFwd)} | ${f(m.fusedGrad)} | ${f(m.compGrad)} |` +
                ` ${f(m.compGrad / m.fusedGrad)}x | ${f(m.fusedFwd / m.copy)}x |` +
                ` ${f(m.fusedGrad / m.copy)}x | ${r.draws.fusedFwd}, ${r.draws.fusedGrad} |`);
  }
  console.log(JSON.stringify(out.results.map(r => ({shape: r.shape, draws: r.draws}))));
  for (const r of out.results) {
    console.log(r.shape.join('x'), 'ms per program (10 back to back, one sync, min of rounds):',
                Object.entries(r.programs).map(([n, v]) => `${n} ${v.toFixed(2)}`).join(', '));
  }
} finally {
  await browser.close();
  server.close();
}
