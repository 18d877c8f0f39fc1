import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {activationSnippet} from './activation_snippet';
import {chunkPass, pixelLoop, pixelReadersSnippet} from './chunk_snippets';
import {paramNames} from './merge_moments_gpu';
import {channelTiles, partialsShape, Plan} from './plan';
import {NORM_UNIFORMS} from './uniforms';

/**
 * Gradient chunk pass, unpacked: per chunk of (instance, channel), the
 * means of dz, dz * xhat and xhat, with xhat = (x - mean) * invStd from the
 * saved statistics of the channel's group and dz = dy * act'(xhat * gamma +
 * beta); in a second set of rows, (mean, invStd, gamma, beta) of the
 * (instance, channel) for the merge, which then reads no other input.
 */
export class ChunkGradSumsProgram implements GPGPUProgram {
  customUniforms = NORM_UNIFORMS;
  packedOutput = true;
  variableNames: string[];
  outputShape: number[];
  userCode: string;

  constructor(plan: Plan) {
    this.outputShape = partialsShape(plan, 2);
    this.variableNames = ['dy', 'x', 'mean', 'invStd', ...paramNames(plan)];
    const secondSet = plan.geometry.batch * channelTiles(plan.geometry, plan.view);
    const linear = plan.attributes.activation === 'linear';
    const gradient = linear
      ? 'dyPixel(n, c, u)'
      : 'dyPixel(n, c, u) * activateGrad(xhat * gamma + beta)';
    const addPixel = `
      float xhat = (xPixel(n, c, u) - mean) * invStd;
      float gradient = ${gradient};
      sums += vec3(gradient, gradient * xhat, xhat);`;
    this.userCode = chunkPass(
      plan,
      `${pixelReadersSnippet(plan, ['x', 'dy'])}
       ${activationSnippet(plan.attributes.activation)}`,
      `
      int group = c / ${plan.geometry.channelsPerGroup};
      float mean = getMean(n, group);
      float invStd = getInvStd(n, group);
      ${unpackedAffine(plan)}
      if (texel.x >= ${secondSet}) {
        setOutput(vec4(mean, invStd, gamma, beta));
        return;
      }
      vec3 sums = vec3(0.0);
      ${pixelLoop(plan, addPixel)}
      setOutput(vec4(sums / count, 0.0));`,
      `(texel.x >= ${secondSet} ? ${secondSet} : 0)`,
    );
  }
}

/** The gamma and beta inputs a gradient pass reads z from: none for linear. */
export function affineNames(plan: Plan): string[] {
  if (plan.attributes.activation === 'linear') return [];
  const names: string[] = [];
  if (plan.attributes.gamma !== 'absent') names.push('gamma');
  if (plan.attributes.beta !== 'absent') names.push('beta');
  return names;
}

/**
 * Unpacked chunk passes: GLSL defining `float gamma` and `float beta` of
 * (n, c), 1 and 0 when absent.
 */
export function unpackedAffine(plan: Plan): string {
  const read = (name: 'gamma' | 'beta', absent: string) => {
    const kind = plan.attributes[name];
    const sampler = name === 'gamma' ? 'getGamma' : 'getBeta';
    return kind === 'absent'
      ? absent
      : kind === 'perChannel'
        ? `${sampler}(c)`
        : `${sampler}(n, c)`;
  };
  return `float gamma = ${read('gamma', '1.0')}; float beta = ${read('beta', '0.0')};`;
}
