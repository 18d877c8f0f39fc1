import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {chunkPass, groupPair, texelLoop} from './chunk_snippets';
import {channelBlocks, Chunking, Geometry, partialsShape} from './plan';
import {channelSums, masked, PICK_SNIPPET, SELECT_SNIPPET, spreadPair} from './texel_snippets';

/**
 * Gradient chunk pass, packed: a texel holds two channels, so the three
 * means of a pair go in two sets of rows: (dy_c, dy*xhat_c, dy_c+1,
 * dy*xhat_c+1) in the first, (xhat_c, xhat_c+1, 0, 0) in the second, whose
 * fragments read x only. Sets, not alternating rows: neighbouring fragments
 * then take the same branch.
 */
export class PackedChunkGradSumsProgram implements GPGPUProgram {
  variableNames = ['dy', 'x', 'mean', 'invStd'];
  packedInputs = true;
  packedOutput = true;
  outputShape: number[];
  userCode: string;

  constructor(geometry: Geometry, chunking: Chunking) {
    this.outputShape = partialsShape(geometry, chunking, 2);
    const firstSet = geometry.layout.batch * channelBlocks(geometry);
    const stat = (name: string) =>
      `vec2(pick2d(${name}(n, group0), n, group0), pick2d(${name}(n, group1), n, group1))`;
    const xhat = (which: string) => masked(geometry, `(x${which} - mean${which}) * invStd${which}`);
    const sums = (name: string) => channelSums(geometry, `${name}0`, `${name}1`);
    const spread = (name: string) => `
      vec4 ${name}0 = ${spreadPair(geometry, name, '0')};
      vec4 ${name}1 = ${spreadPair(geometry, name, '1')};`;
    const xhatOf = (which: string) => `
      xhatSum${which} += ${xhat(which)};`;
    const gradientOf = (which: string) => `
      vec4 gradient${which} = ${masked(geometry, `dy${which}`)};
      dySum${which} += gradient${which};
      dyXhatSum${which} += gradient${which} * ${xhat(which)};`;
    this.userCode = chunkPass(
      geometry,
      chunking,
      `${SELECT_SNIPPET}
       ${PICK_SNIPPET}`,
      `
      ${groupPair(geometry)}
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
      if (texel.x >= ${firstSet}) {
        ${texelLoop(geometry, chunking, ['x'], xhatOf)}
        setOutput(vec4(${sums('xhatSum')} / count, 0.0, 0.0));
      } else {
        ${texelLoop(geometry, chunking, ['dy', 'x'], gradientOf)}
        vec2 dyMeans = ${sums('dySum')} / count;
        vec2 dyXhatMeans = ${sums('dyXhatSum')} / count;
        setOutput(vec4(dyMeans.x, dyXhatMeans.x, dyMeans.y, dyXhatMeans.y));
      }`,
      `(texel.x >= ${firstSet} ? ${firstSet} : 0)`,
    );
  }
}
