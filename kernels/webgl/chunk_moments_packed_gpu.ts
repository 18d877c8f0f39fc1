import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {addDeviation, chunkMoments, chunkPass, pivotPair, texelLoop} from './chunk_snippets';
import {partialsShape, Plan} from './plan';
import {
  channelSums,
  firstPixelsSnippet,
  masked,
  SELECT_SNIPPET,
  spreadPair,
} from './texel_snippets';

/**
 * Forward chunk pass, packed: as ChunkMomentsProgram for channels c and
 * c + 1 at once, per lane of the texels, added up per channel at the end;
 * the texel (mean_c - pivot_c, sd_c, mean_c+1 - pivot_c+1, sd_c+1). The
 * pivots are read from x by the merge.
 */
export class PackedChunkMomentsProgram implements GPGPUProgram {
  variableNames = ['x'];
  packedInputs = true;
  packedOutput = true;
  outputShape: number[];
  userCode: string;

  constructor(plan: Plan) {
    this.outputShape = partialsShape(plan);
    const sums = (name: string) => channelSums(plan, `${name}0`, `${name}1`);
    const addTexel = (which: string) => `
      vec4 d${which} = ${masked(plan, `x${which} - local${which}`)};
      ${addDeviation(plan, `d${which}`, `sum${which}`, `squares${which}`)}`;
    const loop = texelLoop(plan, ['x'], addTexel);
    const moments = chunkMoments(plan, 'vec2', sums('sum'), sums('squares'));
    this.userCode = chunkPass(
      plan,
      `${firstPixelsSnippet(plan, 'x')}
       ${SELECT_SNIPPET}`,
      `
      vec2 pivot = ${pivotPair(plan)};
      vec2 local = xFirstPixels(n, c, u0);
      vec4 local0 = ${spreadPair(plan, 'local', '0')};
      vec4 local1 = ${spreadPair(plan, 'local', '1')};
      vec4 sum0 = vec4(0.0);
      vec4 sum1 = vec4(0.0);
      vec4 squares0 = vec4(0.0);
      vec4 squares1 = vec4(0.0);
      ${loop}
      ${moments}
      vec2 meanFromPivot = (local - pivot) + mean;
      setOutput(vec4(meanFromPivot.x, deviation.x, meanFromPivot.y, deviation.y));`,
    );
  }
}
