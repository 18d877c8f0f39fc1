import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {addDeviation, chunkMoments, chunkPass, pivotPair, texelLoop} from './chunk_snippets';
import {Chunking, Geometry, partialsShape} from './plan';
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

  constructor(geometry: Geometry, chunking: Chunking) {
    this.outputShape = partialsShape(geometry, chunking);
    const sums = (name: string) => channelSums(geometry, `${name}0`, `${name}1`);
    const addTexel = (which: string) => `
      vec4 d${which} = ${masked(geometry, `x${which} - local${which}`)};
      ${addDeviation(geometry, chunking, `d${which}`, `sum${which}`, `squares${which}`)}`;
    this.userCode = chunkPass(
      geometry,
      chunking,
      `${firstPixelsSnippet(geometry, 'x')}
       ${SELECT_SNIPPET}`,
      `
      vec2 pivot = ${pivotPair(geometry)};
      vec2 local = xFirstPixels(n, c, u0);
      vec4 local0 = ${spreadPair(geometry, 'local', '0')};
      vec4 local1 = ${spreadPair(geometry, 'local', '1')};
      vec4 sum0 = vec4(0.0);
      vec4 sum1 = vec4(0.0);
      vec4 squares0 = vec4(0.0);
      vec4 squares1 = vec4(0.0);
      ${texelLoop(geometry, chunking, ['x'], addTexel)}
      ${chunkMoments(geometry, chunking, 'vec2', sums('sum'), sums('squares'))}
      vec2 shifted = (local - pivot) + mean;
      setOutput(vec4(shifted.x, deviation.x, shifted.y, deviation.y));`,
    );
  }
}
