// `npm start`: bundles demo/main.ts with esbuild into demo/out/ and serves
// the demo on http://localhost (WebGPU needs a secure origin, and localhost
// is one). Prints the URL. PORT=<n> picks the port; without it the first free
// port from 8080 up is used.
import fs from 'node:fs';
import http from 'node:http';
import {createRequire} from 'node:module';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import * as esbuild from 'esbuild';

const demoDir = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.join(demoDir, 'out');

/** The dist/ folder of @tensorflow/tfjs-backend-wasm (its .wasm files), or null when not installed. */
function wasmDist() {
  try {
    const pkg = createRequire(import.meta.url).resolve(
      '@tensorflow/tfjs-backend-wasm/package.json',
    );
    return path.join(path.dirname(pkg), 'dist');
  } catch {
    return null;
  }
}
const wasmDir = wasmDist();

/** Without tfjs-backend-wasm, the demo's import of it gets a stub: the page says WASM is absent. */
const wasmStub = {
  name: 'wasm-stub',
  setup(build) {
    build.onResolve({filter: /^@tensorflow\/tfjs-backend-wasm$/}, () => ({
      path: 'wasm-stub',
      namespace: 'wasm-stub',
    }));
    build.onLoad({filter: /.*/, namespace: 'wasm-stub'}, () => ({
      contents: 'export const setWasmPaths = undefined;',
      loader: 'js',
    }));
  },
};

export async function buildDemo() {
  await esbuild.build({
    entryPoints: [path.join(demoDir, 'main.ts')],
    bundle: true,
    format: 'esm',
    target: 'es2020',
    sourcemap: true,
    outfile: path.join(outDir, 'main.js'),
    logLevel: 'warning',
    plugins: wasmDir ? [] : [wasmStub],
  });
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
};

/**
 * Serves demo/index.html, demo/style.css, the bundle in demo/out/ and the
 * .wasm files of tfjs-backend-wasm under /wasm/ and /; nothing else.
 */
function handle(req, res) {
  const url = new URL(req.url, 'http://localhost');
  const name = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
  // Under /wasm/ (the page's setWasmPaths) and beside the page (tfjs' default
  // location, which the wasm backend falls back to).
  const wasmFile = /^(wasm\/)?tfjs-backend-wasm[\w.-]*\.wasm$/.test(name) && wasmDir;
  const file = wasmFile
    ? path.join(wasmDir, path.basename(name))
    : path.normalize(path.join(demoDir, name));
  const allowed =
    wasmFile ||
    file === path.join(demoDir, 'index.html') ||
    file === path.join(demoDir, 'style.css') ||
    file.startsWith(outDir + path.sep);
  if (!allowed || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
    res.writeHead(404, {'content-type': 'text/plain'});
    res.end('not found');
    return;
  }
  res.writeHead(200, {
    'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
    'cache-control': 'no-store',
  });
  fs.createReadStream(file).pipe(res);
}

/** Listens on 127.0.0.1 (the page is for this machine only); tries the next port when taken. */
function listen(server, port, tries) {
  return new Promise((resolve, reject) => {
    server.once('error', err => {
      if (err.code === 'EADDRINUSE' && tries > 1) {
        resolve(listen(server, port + 1, tries - 1));
      } else {
        reject(err);
      }
    });
    server.listen(port, '127.0.0.1', () => resolve(server.address().port));
  });
}

const fixedPort = process.env.PORT !== undefined && process.env.PORT !== '';
await buildDemo();
const server = http.createServer(handle);
const port = await listen(server, fixedPort ? Number(process.env.PORT) : 8080, fixedPort ? 1 : 50);
console.log(`Demo: http://localhost:${port}/`);
console.log('(Ctrl+C stops the server)');
