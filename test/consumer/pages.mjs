// (2)/(3) In headless Chromium, for every app of the matrix: the bundled app
// (webgl, cpu, and webgpu where installed), the webgl-only app where built,
// and a script-tag page (tf.min.js of that version + dist/tfjs-instance-norm.min.js).
import fs from 'node:fs';
import http from 'node:http';
import {createRequire} from 'node:module';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

import {record, recordAll, seconds} from './report.mjs';

const {CHROMIUM_FLAGS, chromiumPath} = createRequire(import.meta.url)('../../scripts/chromium.cjs');
const TYPES = {'.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript'};
const PAGES = [
  ['(2) bundled app', 'bundled.html'],
  ['(2) webgl-only app', 'webgl_only.html'],
  ['(3) script tag', 'script_tag.html'],
];

/** Serves `/<version>/<file>` from the apps' `files` (see matrixApp). */
function serve(apps) {
  return http.createServer((req, res) => {
    const pathname = new URL(req.url, 'http://localhost').pathname;
    const [, version, name] = pathname.match(/^\/([^/]+)\/([^/]+)$/) ?? [];
    const route = apps.find(a => a.version === version)?.files[name];
    if (!route) {
      res.writeHead(pathname === '/favicon.ico' ? 204 : 404).end();
      return;
    }
    const body = route.file ? fs.readFileSync(route.file) : route.body;
    res.writeHead(200, {'content-type': TYPES[path.extname(pathname)]}).end(body);
  });
}

/** Opens one page, records the results it puts on window.consumerResults. */
async function runPage(browser, url, label) {
  const tab = await browser.newPage();
  const errors = [];
  tab.on('pageerror', error => errors.push(String(error)));
  tab.on('console', message => {
    if (message.type() === 'error') errors.push(message.text());
  });
  // One page that fails (or times out on a loaded machine) leaves the others to run.
  try {
    await tab.goto(url, {timeout: 300000});
    await tab.waitForFunction('window.consumerResults', {timeout: 300000});
    const results = await tab.evaluate(() => globalThis.consumerResults);
    recordAll(results);
    record(
      `${label}: produced results without page errors`,
      results.length > 0 && errors.length === 0,
      errors.join('; '),
    );
  } catch (error) {
    record(`${label}: runs`, false, `${error}; ${errors.join('; ')}`);
  } finally {
    await tab.close();
  }
}

export async function runPages(apps) {
  const server = serve(apps);
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
  // localhost: a secure origin, as WebGPU needs.
  const origin = `http://localhost:${server.address().port}`;
  const browser = await puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: CHROMIUM_FLAGS.filter(f => f !== '--headless'),
  });
  try {
    for (const {version, files} of apps) {
      // The webgl-only app is built for the newest version only.
      for (const [label, page] of PAGES.filter(([, name]) => name in files)) {
        const start = Date.now();
        await runPage(browser, `${origin}/${version}/${page}`, `${label} (tfjs ${version})`);
        console.log(`(${label}, tfjs ${version}: ${seconds(start)})`);
      }
    }
  } finally {
    await browser.close();
    server.close();
  }
}
