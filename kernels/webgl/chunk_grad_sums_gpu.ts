import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {activationSnippet} from './activation_snippet';
import {chunkPass, pixelLoop, pixelReadersSnippet} from './chunk_snippets';
import {channelBlocks, partialsShape, Plan} from './plan';
import {NORM_UNIFORMS} from './uniforms';

/**
 * Gradient chunk pass, unpacked: per chunk of (instance, channel), the
 * means of dz, dz * xhat and xhat, with xhat = (x - mean) * invStd from the
 * saved statistics of the channel's group and dz = dy * act'(xhat * gamma +
 * beta); in a second set of rows, the group's (mean, invStd) for the merge.
 */
export class ChunkGradSumsProgram implements GPGPUProgram {
  customUniforms = NORM_UNIFORMS;
  packedOutput = true;
  variableNames: string[];
  outputShape: number[];
  userCode: string;

  constructor(plan: Plan) {
    this.outputShape = partialsShape(plan, 2);
    this.variableNames = ['dy', 'x', 'mean', 'invStd', ...affineNames(plan)];
    const secondSet = plan.geometry.batch * channelBlocks(plan.geometry, plan.view);
    const param = (name: 'gamma' | 'beta', absent: string) => {
      const kind = plan.block[name];
      const sampler = name === 'gamma' ? 'getGamma' : 'getBeta';
      return kind === 'absent' ? absent : kind === 'perChannel' ? `${sampler}(c)` : `${sampler}(n, c)`;
    };
    const gradient =
      plan.block.activation === 'linear'
        ? 'dyPixel(n, c, u)'
        : 'dyPixel(n, c, u) * activateGrad(xhat * gamma + beta)';
    const addPixel = `
      float xhat = (xPixel(n, c, u) - mean) * invStd;
      float gradient = ${gradient};
      sums += vec3(gradient, gradient * xhat, xhat);`;
    this.userCode = chunkPass(
      plan,
      `${pixelReadersSnippet(plan, ['x', 'dy'])}
       ${activationSnippet(plan.block.activation)}`,
      `
      int group = c / ${plan.geometry.channelsPerGroup};
      float mean = getMean(n, group);
      float invStd = getInvStd(n, group);
      if (texel.x >= ${secondSet}) {
        setOutput(vec4(mean, invStd, 0.0, 0.0));
        return;
      }
      float gamma = ${param('gamma', '1.0')};
      float beta = ${param('beta', '0.0')};
      vec3 sums = vec3(0.0);
      ${pixelLoop(plan, addPixel)}
      setOutput(vec4(sums / count, 0.0));`,
      `(texel.x >= ${secondSet} ? ${secondSet} : 0)`,
    );
  }
}

/** The gamma and beta inputs a gradient pass reads z from: none for linear. */
export function affineNames(plan: Plan): string[] {
  if (plan.block.activation === 'linear') return [];
  const names: string[] = [];
  if (plan.block.gamma !== 'absent') names.push('gamma');
  if (plan.block.beta !== 'absent') names.push('beta');
  return names;
}
