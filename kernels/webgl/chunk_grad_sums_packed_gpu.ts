import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {activationSnippet} from './activation_snippet';
import {affineNames} from './chunk_grad_sums_gpu';
import {chunkPass, groupPair, texelLoop} from './chunk_snippets';
import {channelTiles, partialsShape, Plan} from './plan';
import {channelSums, masked, PICK_SNIPPET, SELECT_SNIPPET, spreadPair} from './texel_snippets';
import {NORM_UNIFORMS} from './uniforms';

/**
 * Gradient chunk pass, packed: a texel holds two channels, so the three
 * means of a pair go in two sets of rows: (dz_c, dz*xhat_c, dz_c+1,
 * dz*xhat_c+1) in the first, (xhat_c, xhat_c+1, 0, 0) in the second, whose
 * fragments read x only. Sets, not alternating rows: neighbouring fragments
 * then take the same branch. dz = dy * act'(xhat * gamma + beta).
 */
export class PackedChunkGradSumsProgram implements GPGPUProgram {
  packedInputs = true;
  packedOutput = true;
  customUniforms = NORM_UNIFORMS;
  variableNames: string[];
  outputShape: number[];
  userCode: string;

  constructor(plan: Plan) {
    this.outputShape = partialsShape(plan, 2);
    this.variableNames = ['dy', 'x', 'mean', 'invStd', ...affineNames(plan)];
    const secondSet = plan.geometry.batch * channelTiles(plan.geometry, plan.view);
    const linear = plan.attributes.activation === 'linear';
    const stat = (name: string) =>
      `vec2(pick2d(${name}(n, group0), n, group0), pick2d(${name}(n, group1), n, group1))`;
    // gamma and beta of channels (c, c + 1): lanes xy of a packed [C] texel,
    // xy or zw (odd n) of a packed [N, C] one.
    const param = (name: 'gamma' | 'beta', absent: string) => {
      const kind = plan.attributes[name];
      const sampler = name === 'gamma' ? 'getGamma' : 'getBeta';
      return kind === 'absent'
        ? `vec2(${absent})`
        : kind === 'perChannel'
          ? `${sampler}(c).xy`
          : `(imod(n, 2) == 0 ? ${sampler}(n, c).xy : ${sampler}(n, c).zw)`;
    };
    const spread = (name: string) => `
      vec4 ${name}0 = ${spreadPair(plan, name, '0')};
      vec4 ${name}1 = ${spreadPair(plan, name, '1')};`;
    const xhat = (which: string) => masked(plan, `(x${which} - mean${which}) * invStd${which}`);
    const sums = (name: string) => channelSums(plan, `${name}0`, `${name}1`);
    const gradient = (which: string) =>
      linear
        ? `dy${which}`
        : `dy${which} * activateGrad4(xhat${which} * gamma${which} + beta${which})`;
    const xhatOf = (which: string) => `
      xhatSum${which} += ${xhat(which)};`;
    const gradientOf = (which: string) => `
      vec4 xhat${which} = ${xhat(which)};
      vec4 gradient${which} = ${masked(plan, gradient(which))};
      dySum${which} += gradient${which};
      dyXhatSum${which} += gradient${which} * xhat${which};`;
    const affine = linear
      ? ''
      : `vec2 gamma = ${param('gamma', '1.0')};
         vec2 beta = ${param('beta', '0.0')};
         ${spread('gamma')}
         ${spread('beta')}`;
    this.userCode = chunkPass(
      plan,
      `${SELECT_SNIPPET}
       ${PICK_SNIPPET}
       ${linear ? '' : activationSnippet(plan.attributes.activation)}`,
      `
      ${groupPair(plan)}
      vec2 mean = ${stat('getMean')};
      vec2 invStd = ${stat('getInvStd')};
      ${spread('mean')}
      ${spread('invStd')}
      vec4 dySum0 = vec4(0.0);
      vec4 dySum1 = vec4(0.0);
      vec4 dyXhatSum0 = vec4(0.0);
      vec4 dyXhatSum1 = vec4(0.0);
      vec4 xhatSum0 = vec4(0.0);
      vec4 xhatSum1 = vec4(0.0);
      if (texel.x >= ${secondSet}) {
        ${texelLoop(plan, ['x'], xhatOf)}
        setOutput(vec4(${sums('xhatSum')} / count, 0.0, 0.0));
      } else {
        ${affine}
        ${texelLoop(plan, ['dy', 'x'], gradientOf)}
        vec2 dyMeans = ${sums('dySum')} / count;
        vec2 dyXhatMeans = ${sums('dyXhatSum')} / count;
        setOutput(vec4(dyMeans.x, dyXhatMeans.x, dyMeans.y, dyXhatMeans.y));
      }`,
      `(texel.x >= ${secondSet} ? ${secondSet} : 0)`,
    );
  }
}
