import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {chunkPass, pixelLoop, pixelReadersSnippet} from './chunk_snippets';
import {Chunking, Geometry, partialsShape} from './plan';

/**
 * Gradient chunk pass, unpacked: per chunk of (instance, channel), the
 * means of dy, dy * xhat and xhat, with xhat = (x - mean) * invStd from the
 * saved statistics of the channel's group.
 */
export class ChunkGradSumsProgram implements GPGPUProgram {
  variableNames = ['dy', 'x', 'mean', 'invStd'];
  packedOutput = true;
  outputShape: number[];
  userCode: string;

  constructor(geometry: Geometry, chunking: Chunking) {
    this.outputShape = partialsShape(geometry, chunking);
    const sumsOfPixel = `
      float gradient = dyPixel(n, c, u);
      float xhat = (xPixel(n, c, u) - mean) * invStd;
      sums += vec3(gradient, gradient * xhat, xhat);`;
    this.userCode = chunkPass(
      geometry,
      chunking,
      pixelReadersSnippet(geometry, ['x', 'dy']),
      `
      int group = c / ${geometry.channelsPerGroup};
      float mean = getMean(n, group);
      float invStd = getInvStd(n, group);
      vec3 sums = vec3(0.0);
      ${pixelLoop(chunking, sumsOfPixel)}
      setOutput(vec4(sums / count, 0.0));`,
    );
  }
}
