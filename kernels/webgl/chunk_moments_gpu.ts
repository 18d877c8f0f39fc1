import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {
  chunkHeader,
  chunkPixelsSnippet,
  groupStart,
  pixelLoop,
  pixelReaderSnippet,
} from './chunk_snippets';
import {Chunking, Geometry, partialsShape, squaresScale} from './plan';
import {glslFloat} from './texel_snippets';

/**
 * Forward chunk pass, unpacked: per chunk of (instance, channel), the texel
 * (mean - pivot, standard deviation, pivot, 0), the pivot being the first
 * element of the channel's group. Sums run relative to the chunk's first
 * pixel, so an offset of 1e4 or a constant group loses nothing; storing the
 * deviation rather than the variance keeps it in float16 range for any x
 * that is. The squares are of deviations scaled by a power of two
 * (squaresScale), so that x of magnitude 1e18 does not overflow their
 * float32 sum; the variance stays scaled until its root.
 */
export class ChunkMomentsProgram implements GPGPUProgram {
  variableNames = ['x'];
  packedOutput = true;
  outputShape: number[];
  userCode: string;

  constructor(geometry: Geometry, chunking: Chunking) {
    this.outputShape = partialsShape(geometry, chunking);
    const scale = squaresScale(geometry, chunking);
    this.userCode = `
      ${chunkPixelsSnippet(geometry, chunking)}
      ${pixelReaderSnippet(geometry, 'x')}
      void main() {
        ${chunkHeader(geometry, chunking)}
        float pivot = xPixel(n, ${groupStart(geometry, 'c')}, 0);
        float local = xPixel(n, c, u0);
        float sum = 0.0;
        float squares = 0.0;
        ${pixelLoop(
          chunking,
          `
          float d = xPixel(n, c, u) - local;
          float scaled = d * ${glslFloat(scale)};
          sum += d;
          squares += scaled * scaled;`,
        )}
        float mean = sum / count;
        float scaledMean = mean * ${glslFloat(scale)};
        float scaledVariance = max(squares / count - scaledMean * scaledMean, 0.0);
        float deviation = sqrt(scaledVariance) * ${glslFloat(1 / scale)};
        setOutput(vec4((local - pivot) + mean, deviation, pivot, 0.0));
      }`;
  }
}
