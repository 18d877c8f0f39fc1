// Headless Chromium with WebGL2 (ANGLE on SwiftShader) and WebGPU (Dawn on
// SwiftShader) on a CPU-only machine. WebGPU also needs a secure origin:
// serve pages from http://localhost.
const fs = require('fs');

const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--enable-unsafe-swiftshader',
  '--disable-gpu-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

function chromiumPath() {
  const candidates = [process.env.CHROME_BIN, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  const found = candidates.find(p => p && fs.existsSync(p));
  if (!found) {
    throw new Error(
      'Chromium not found: install it (apt-get install -y chromium) or set CHROME_BIN.',
    );
  }
  return found;
}

module.exports = {CHROMIUM_FLAGS, chromiumPath};
