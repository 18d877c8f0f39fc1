/**
 * The device class (../common/device_class.ts) of a webgl backend, read once
 * per backend from its context's renderer string.
 */
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

import {DeviceClass, forcedDeviceClass} from '../common/device_class';

const deviceClasses = new WeakMap<MathBackendWebGL, DeviceClass>();

/** Renderer strings of CPU implementations of WebGL. */
const SOFTWARE_RENDERER = /swiftshader|llvmpipe|softpipe|software|basic render/i;

/** The device class of a backend, or the one PLAN_FLAG forces. */
export function deviceClassOf(backend: MathBackendWebGL): DeviceClass {
  const forced = forcedDeviceClass();
  if (forced != null) return forced;
  let deviceClass = deviceClasses.get(backend);
  if (deviceClass == null) {
    const gl = backend.gpgpu.gl;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const name = String(
      gl.getParameter(info != null ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? '',
    );
    deviceClass = SOFTWARE_RENDERER.test(name) ? 'software' : 'gpu';
    deviceClasses.set(backend, deviceClass);
  }
  return deviceClass;
}
