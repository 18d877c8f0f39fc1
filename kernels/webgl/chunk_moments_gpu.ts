import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {
  addDeviation,
  chunkMoments,
  chunkPass,
  groupStart,
  pixelLoop,
  pixelReadersSnippet,
} from './chunk_snippets';
import {unpackedAffine} from './chunk_grad_sums_gpu';
import {paramNames} from './merge_moments_gpu';
import {channelTiles, partialsShape, Plan} from './plan';

/**
 * Forward chunk pass, unpacked: per chunk of (instance, channel), the texel
 * (mean - pivot, standard deviation, pivot, 0), the pivot being the first
 * element of the channel's group. Sums run relative to the chunk's first
 * pixel, so an offset of 1e4 or a constant group loses nothing; storing the
 * deviation rather than the variance keeps it in float16 range for any x
 * that is. The squares are of deviations scaled by a power of two
 * (squaresScale), so that x of magnitude 1e18 does not overflow their
 * float32 sum. A second set of rows holds (0, 0, gamma, beta) per (instance,
 * channel) for the merge, which then reads no other input.
 */
export class ChunkMomentsProgram implements GPGPUProgram {
  packedOutput = true;
  variableNames: string[];
  outputShape: number[];
  userCode: string;

  constructor(plan: Plan) {
    this.outputShape = partialsShape(plan, 2);
    this.variableNames = ['x', ...paramNames(plan)];
    const secondSet = plan.geometry.batch * channelTiles(plan.geometry, plan.view);
    const readers = pixelReadersSnippet(plan, ['x']);
    const pivot = `xPixel(n, ${groupStart(plan, 'c')}, 0)`;
    const addPixel = addDeviation(plan, '(xPixel(n, c, u) - local)', 'sum', 'squares');
    const moments = chunkMoments(plan, 'float', 'sum', 'squares');
    this.userCode = chunkPass(
      plan,
      readers,
      `
      if (texel.x >= ${secondSet}) {
        ${unpackedAffine(plan)}
        setOutput(vec4(0.0, 0.0, gamma, beta));
        return;
      }
      float pivot = ${pivot};
      float local = xPixel(n, c, u0);
      float sum = 0.0;
      float squares = 0.0;
      ${pixelLoop(plan, addPixel)}
      ${moments}
      setOutput(vec4((local - pivot) + mean, deviation, pivot, 0.0));`,
      `(texel.x >= ${secondSet} ? ${secondSet} : 0)`,
    );
  }
}
