// Runs a TypeScript entry in headless Chromium (WebGPU on SwiftShader) and
// prints its console: `node scripts/run_in_chromium.mjs <entry.ts> [?query]`. The
// entry sets `window.__done = true` when finished (or `window.__error`).
import http from 'node:http';
import {createRequire} from 'node:module';
import * as esbuild from 'esbuild';
import puppeteer from 'puppeteer-core';

const require = createRequire(import.meta.url);
const {CHROMIUM_FLAGS, chromiumPath} = require('./chromium.cjs');

const entry = process.argv[2];
if (!entry) throw new Error('usage: node scripts/run_in_chromium.mjs <entry.ts>');
const built = await esbuild.build({
  entryPoints: [entry],
  bundle: true,
  write: false,
  format: 'esm',
  target: 'es2020',
  logLevel: 'warning',
});
const script = built.outputFiles[0].text;
const page = '<!doctype html><meta charset="utf-8"><script type="module" src="/main.js"></script>';
const server = http.createServer((req, res) => {
  const js = req.url === '/main.js';
  res.writeHead(200, {'content-type': js ? 'text/javascript' : 'text/html'});
  res.end(js ? script : page);
});
await new Promise(resolve => server.listen(0, 'localhost', resolve));
const {port} = server.address();
const browser = await puppeteer.launch({
  executablePath: chromiumPath(),
  args: CHROMIUM_FLAGS.filter(f => f !== '--headless'),
  headless: true,
  protocolTimeout: 1800000,
});
try {
  const tab = await browser.newPage();
  tab.on('console', m => console.log(m.text()));
  tab.on('pageerror', e => console.log('pageerror:', e.message));
  await tab.goto(`http://localhost:${port}/${process.argv[3] ?? ''}`);
  await tab.waitForFunction('window.__done || window.__error', {timeout: 1800000, polling: 500});
  const error = await tab.evaluate('window.__error');
  if (error) {
    console.log('error:', error);
    process.exitCode = 1;
  }
} finally {
  await browser.close();
  server.close();
}
