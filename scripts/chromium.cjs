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

// A real GPU (measured on an NVIDIA H200 with Debian's chromium-headless-shell
// 156): WebGL2 through ANGLE on Vulkan and WebGPU on the same adapter.
// `--use-angle=gl-egl` gives WebGL but no WebGPU there.
const CHROMIUM_GPU_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-dev-shm-usage',
  '--enable-unsafe-webgpu',
  '--ignore-gpu-blocklist',
  '--disable-gpu-sandbox',
  '--enable-gpu',
  '--use-gl=angle',
  '--use-angle=vulkan',
  '--enable-features=Vulkan,VulkanFromANGLE,DefaultANGLEVulkan',
  '--disable-vulkan-surface',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

/** $CHROME_BIN, else Debian's or Ubuntu's Chromium; null when none exists. */
function findChromium() {
  const candidates = [process.env.CHROME_BIN, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find(p => p && fs.existsSync(p)) ?? null;
}

/** findChromium(), or an Error that says how to get one (`npm test` installs it where it can). */
function chromiumPath() {
  const found = findChromium();
  if (!found) {
    throw new Error(
      'Chromium not found: install it (apt-get install -y chromium) or set CHROME_BIN.',
    );
  }
  return found;
}

module.exports = {CHROMIUM_FLAGS, CHROMIUM_GPU_FLAGS, chromiumPath, findChromium};
