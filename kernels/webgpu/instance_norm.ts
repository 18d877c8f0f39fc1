import type {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import type {WebGPUBackend, WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';

import {InstanceNorm, InstanceNormAttrs, InstanceNormInputs} from '../../src/kernel_names';
import {instanceNormLayout} from '../../src/layout';
import {
  blockMomentsSnippet,
  flatDispatch,
  runPasses,
  loadType,
  momentsSnippet,
  partialsShape,
  pivotSnippet,
  mainOverItems,
  planTiling,
  run,
  workgroupBudget,
  statComponents,
  statType,
  Tiling,
  TILING_UNIFORMS,
  tilingKey,
  tilingUniforms,
  tiledDispatch,
  tileSnippet,
  treeReduceSnippet,
  UniformValue,
} from './shader_snippets';

/** The partials hold (mean, variance) of the pivot-shifted values per chunk. */
const MOMENT_FIELDS = 2;

/**
 * Pass 1: (mean, variance) of x - pivot for every (n, chunk of S, c), written to
 * the partials `[N, splits, 2, C]`.
 */
function momentsProgram(t: Tiling): WebGPUProgram {
  const st = statType(t);
  return {
    shaderKey: `instanceNormMoments_${tilingKey(t)}`,
    outputShape: partialsShape(t, MOMENT_FIELDS),
    ...tiledDispatch(t, 4),
    variableNames: ['x'],
    variableComponents: [t.vec],
    outputComponent: statComponents(t),
    uniforms: TILING_UNIFORMS,
    getUserCode: () => `
      ${tileSnippet(t)}
      ${pivotSnippet(t)}
      ${momentsSnippet(st)}
      ${blockMomentsSnippet(t)}
      ${treeReduceSnippet(t, 'reduceMoments', 'Moments', 'mergeMoments')}

      ${mainOverItems(`
        // Plain float32 sums over blocks of MOMENT_BLOCK loads, folded in
        // with Chan's formula: a lane may visit a whole chunk (thousands of
        // pixels on a CPU adapter) without its rounding or range growing.
        var own = Moments(0.0, ${st}(0.0), ${st}(0.0));
        if (t.valid) {
          let pivot = pivotOf(t);
          var i = t.first;
          for (var block = 0; block < t.visits; block += MOMENT_BLOCK) {
            let visits = min(MOMENT_BLOCK, t.visits - block);
            var sum = ${loadType(t)}(0.0);
            var squares = ${loadType(t)}(0.0);
            for (var k = 0; k < visits; k++) {
              let d = x[i] - pivot;
              sum += d;
              squares += d * d;
              i += t.stride;
            }
            own = mergeMoments(own, blockMoments(f32(visits), sum, squares));
          }
        }
        let total = reduceMoments(lane, t.slot, t.memberIdx, own);
        if (t.valid && t.memberIdx == 0) {
          result[partialIndex(t, t.split, 0, ${MOMENT_FIELDS})] = total.mean;
          result[partialIndex(t, t.split, 1, ${MOMENT_FIELDS})] = total.variance;
        }
      `)}
    `,
  };
}

/**
 * Pass 2: y. Each workgroup first merges the partials of its channels (its
 * members share the chunks, then a tree), then normalizes its chunk. y is
 * computed from the shifted pieces, (x - pivot) - shiftedMean, which keeps
 * float32 accuracy at any offset (x - mean with a rounded mean would not).
 */
function normalizeProgram(
  t: Tiling,
  shape: number[],
  hasGamma: boolean,
  hasBeta: boolean,
): WebGPUProgram {
  const st = statType(t);
  const sc = statComponents(t);
  const variableNames = ['x', 'partials'];
  if (hasGamma) variableNames.push('gamma');
  if (hasBeta) variableNames.push('beta');
  return {
    shaderKey: `instanceNormNormalize_${tilingKey(t)}_g${+hasGamma}_b${+hasBeta}`,
    outputShape: shape,
    ...tiledDispatch(t, shape.length),
    variableNames,
    variableComponents: [t.vec, sc, ...variableNames.slice(2).map(() => sc)],
    outputComponent: t.vec,
    uniforms: `${TILING_UNIFORMS} epsilon : f32,`,
    getUserCode: () => `
      ${tileSnippet(t)}
      ${pivotSnippet(t)}
      ${momentsSnippet(st)}
      ${treeReduceSnippet(t, 'reduceMoments', 'Moments', 'mergeMoments')}

      ${mainOverItems(`
        var own = Moments(0.0, ${st}(0.0), ${st}(0.0));
        if (t.valid) {
          for (var k = t.memberIdx; k < uniforms.splits; k += MEMBERS) {
            own = mergeMoments(own, Moments(splitPixels(k),
                partials[partialIndex(t, k, 0, ${MOMENT_FIELDS})],
                partials[partialIndex(t, k, 1, ${MOMENT_FIELDS})]));
          }
        }
        let total = reduceMoments(lane, t.slot, t.memberIdx, own);
        if (t.valid) {
          let invStd = inverseSqrt(total.variance + uniforms.epsilon);
          let scale = invStd${hasGamma ? ' * gamma[t.channel]' : ''};
          let shift = ${hasBeta ? 'beta[t.channel]' : `${st}(0.0)`};
          let shiftedMean = total.mean;
          let pivot = pivotOf(t);
          var i = t.first;
          for (var k = 0; k < t.visits; k++) {
            result[i] = ((x[i] - pivot) - shiftedMean) * scale + shift;
            i += t.stride;
          }
        }
      `)}
    `,
  };
}

/**
 * Pass 3 or 4: mean or invStd `[N, C]` from the partials, one lane per
 * (n, c). Two tiny programs, since a tfjs WebGPU program has one output.
 */
function statsProgram(t: Tiling, which: 'mean' | 'invStd'): WebGPUProgram {
  const pivot =
    t.format === 'channelsLast'
      ? 'n * uniforms.spatial * uniforms.channels + c'
      : 'nc * uniforms.spatial';
  const value =
    which === 'mean'
      ? `x[${pivot}] + total.mean`
      : 'inverseSqrt(total.variance + uniforms.epsilon)';
  // 'auto' bind group layouts drop unused bindings: bind x only when read.
  const variableNames = which === 'mean' ? ['x', 'partials'] : ['partials'];
  return {
    shaderKey: `instanceNormStats_${which}_${t.format}`,
    outputShape: [t.batch, t.channels],
    ...flatDispatch(t.batch * t.channels),
    variableNames,
    variableComponents: variableNames.map(() => 1),
    outputComponent: 1,
    uniforms: `${TILING_UNIFORMS} epsilon : f32,`,
    getUserCode: () => `
      ${momentsSnippet('f32')}

      fn splitPixels(split : i32) -> f32 {
        return f32(min(uniforms.chunk, uniforms.spatial - split * uniforms.chunk));
      }

      fn main(nc : i32) {
        if (nc < uniforms.batch * uniforms.channels) {
          let n = nc / uniforms.channels;
          let c = nc % uniforms.channels;
          var total = Moments(0.0, 0.0, 0.0);
          for (var k = 0; k < uniforms.splits; k++) {
            let at = ((n * uniforms.splits + k) * ${MOMENT_FIELDS}) * uniforms.channels + c;
            total = mergeMoments(total,
                Moments(splitPixels(k), partials[at], partials[at + uniforms.channels]));
          }
          result[nc] = ${value};
        }
      }
    `,
  };
}

/**
 * Four dispatches: the partial moments, y, mean and invStd. A tfjs WebGPU
 * program writes exactly one buffer (runWebGPUProgram binds one read_write
 * output; inputs are read-only and may not alias it), so three outputs take
 * three programs after the reduction pass; the reduction itself cannot be
 * folded into them because S is split across workgroups.
 */
function instanceNormWebGPU(args: {
  inputs: InstanceNormInputs;
  backend: WebGPUBackend;
  attrs: InstanceNormAttrs;
}): TensorInfo[] {
  const {inputs, backend, attrs} = args;
  const {x, gamma, beta} = inputs;
  const {epsilon, dataFormat} = attrs;
  const layout = instanceNormLayout(x.shape, dataFormat);
  if (x.shape.some(d => d === 0)) {
    return emptyOutputs(backend, x, layout.batch, layout.channels, epsilon);
  }
  const t = planTiling(layout, workgroupBudget(backend));
  const uniforms: UniformValue[] = [...tilingUniforms(t), {type: 'float32', data: [epsilon]}];
  const params = [gamma, beta].filter((p): p is TensorInfo => p != null);
  return runPasses(backend, run(backend, momentsProgram(t), [x], tilingUniforms(t)), partials => [
    () =>
      run(
        backend,
        normalizeProgram(t, x.shape, gamma != null, beta != null),
        [x, partials, ...params],
        uniforms,
      ),
    () => run(backend, statsProgram(t, 'mean'), [x, partials], uniforms),
    () => run(backend, statsProgram(t, 'invStd'), [partials], uniforms),
  ]);
}

/**
 * A zero-size x: y is empty; with S == 0 but N, C > 0 the statistics are
 * those of the cpu kernel (mean 0, variance 0). Nothing to reduce, so these
 * few constants are uploaded directly.
 */
function emptyOutputs(
  backend: WebGPUBackend,
  x: TensorInfo,
  batch: number,
  channels: number,
  epsilon: number,
): TensorInfo[] {
  const stats = batch * channels;
  return [
    backend.makeTensorInfo(x.shape, 'float32', new Float32Array(0)),
    backend.makeTensorInfo([batch, channels], 'float32', new Float32Array(stats)),
    backend.makeTensorInfo(
      [batch, channels],
      'float32',
      new Float32Array(stats).fill(1 / Math.sqrt(epsilon)),
    ),
  ];
}

export const instanceNormWebGPUConfig: KernelConfig = {
  kernelName: InstanceNorm,
  backendName: 'webgpu',
  kernelFunc: instanceNormWebGPU as unknown as KernelFunc,
};
