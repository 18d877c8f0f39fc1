import type {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import type {WebGPUBackend, WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';

import {
  InstanceNormGrad,
  InstanceNormGradAttrs,
  InstanceNormGradInputs,
} from '../../src/kernel_names';
import {instanceNormLayout} from '../../src/layout';
import {
  collapseSnippet,
  flatDispatch,
  runPasses,
  gradSumsSnippet,
  loadType,
  partialsShape,
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
} from './shader_snippets';

/** The partials hold sum(dy), sum(dy * xhat) and sum(xhat) per chunk. */
const SUM_FIELDS = 3;

/**
 * Pass 1: the three sums for every (n, chunk of S, c), written to the
 * partials `[N, splits, 3, C]`. sum(xhat) is zero up to the rounding of the
 * float32 saved mean; pass 2 uses it to re-center xhat, so the gradient keeps
 * float32 accuracy at large offsets (see the cpu kernel).
 */
function sumsProgram(t: Tiling): WebGPUProgram {
  const lt = loadType(t);
  const st = statType(t);
  return {
    shaderKey: `instanceNormGradSums_${tilingKey(t)}`,
    outputShape: partialsShape(t, SUM_FIELDS),
    ...tiledDispatch(t, 4),
    variableNames: ['dy', 'x', 'mean', 'invStd'],
    variableComponents: [t.vec, t.vec, statComponents(t), statComponents(t)],
    outputComponent: statComponents(t),
    uniforms: TILING_UNIFORMS,
    getUserCode: () => `
      ${tileSnippet(t)}
      ${collapseSnippet(t)}
      ${gradSumsSnippet(st)}
      ${treeReduceSnippet(t, 'reduceSums', 'GradSums', 'addGradSums')}

      ${mainOverItems(`
        // Block sums (see the moments pass) keep float32 rounding bounded
        // when a lane visits a whole chunk.
        var own = GradSums(${st}(0.0), ${st}(0.0), ${st}(0.0));
        if (t.valid) {
          let m = mean[t.row];
          let r = invStd[t.row];
          var i = t.first;
          for (var block = 0; block < t.visits; block += SUM_BLOCK) {
            let visits = min(SUM_BLOCK, t.visits - block);
            var sumDy = ${lt}(0.0);
            var sumDyXhat = ${lt}(0.0);
            var sumXhat = ${lt}(0.0);
            for (var k = 0; k < visits; k++) {
              let xhat = (x[i] - m) * r;
              let g = dy[i];
              sumDy += g;
              sumDyXhat += g * xhat;
              sumXhat += xhat;
              i += t.stride;
            }
            own = addGradSums(own, GradSums(collapse(sumDy), collapse(sumDyXhat), collapse(sumXhat)));
          }
        }
        let total = reduceSums(lane, t.slot, t.memberIdx, own);
        if (t.valid && t.memberIdx == 0) {
          result[partialIndex(t, t.split, 0, ${SUM_FIELDS})] = total.dy;
          result[partialIndex(t, t.split, 1, ${SUM_FIELDS})] = total.dyXhat;
          result[partialIndex(t, t.split, 2, ${SUM_FIELDS})] = total.xhat;
        }
      `)}
    `,
  };
}

/**
 * Pass 2: dx. Each workgroup sums the partials of its channels over the
 * chunks, re-centers, then for its chunk
 *   dx = gamma * invStd * (dy - (sum(dy) + xhat * sum(dy * xhat)) / S).
 */
function inputGradProgram(t: Tiling, shape: number[], hasGamma: boolean): WebGPUProgram {
  const st = statType(t);
  const sc = statComponents(t);
  const variableNames = ['dy', 'x', 'mean', 'invStd', 'partials'];
  if (hasGamma) variableNames.push('gamma');
  return {
    shaderKey: `instanceNormGradInput_${tilingKey(t)}_g${+hasGamma}`,
    outputShape: shape,
    ...tiledDispatch(t, shape.length),
    variableNames,
    variableComponents: [t.vec, t.vec, sc, sc, sc, ...(hasGamma ? [sc] : [])],
    outputComponent: t.vec,
    uniforms: TILING_UNIFORMS,
    getUserCode: () => `
      ${tileSnippet(t)}
      ${gradSumsSnippet(st)}
      ${treeReduceSnippet(t, 'reduceSums', 'GradSums', 'addGradSums')}

      ${mainOverItems(`
        var own = GradSums(${st}(0.0), ${st}(0.0), ${st}(0.0));
        if (t.valid) {
          for (var k = t.memberIdx; k < uniforms.splits; k += MEMBERS) {
            own = addGradSums(own, GradSums(
                partials[partialIndex(t, k, 0, ${SUM_FIELDS})],
                partials[partialIndex(t, k, 1, ${SUM_FIELDS})],
                partials[partialIndex(t, k, 2, ${SUM_FIELDS})]));
          }
        }
        let total = reduceSums(lane, t.slot, t.memberIdx, own);
        if (t.valid) {
          let pixels = f32(uniforms.spatial);
          let m = mean[t.row];
          let r = invStd[t.row];
          let xhatShift = total.xhat / pixels;
          let centeredDyXhat = total.dyXhat - xhatShift * total.dy;
          let scale = r${hasGamma ? ' * gamma[t.channel]' : ''};
          let perXhat = scale * centeredDyXhat / pixels;
          let constant = scale * total.dy / pixels;
          var i = t.first;
          for (var k = 0; k < t.visits; k++) {
            let xhat = (x[i] - m) * r - xhatShift;
            result[i] = scale * dy[i] - perXhat * xhat - constant;
            i += t.stride;
          }
        }
      `)}
    `,
  };
}

/**
 * Pass 3 or 4: dgamma or dbeta `[C]` from the partials, one lane per
 * channel summing over instances and chunks (dgamma with the same
 * re-centering per (n, c) as dx).
 */
function paramGradProgram(t: Tiling, which: 'dgamma' | 'dbeta'): WebGPUProgram {
  const term = which === 'dgamma' ? 'dyXhat - xhat / pixels * dySum' : 'dySum';
  return {
    shaderKey: `instanceNormGradParam_${which}`,
    outputShape: [t.channels],
    ...flatDispatch(t.channels),
    variableNames: ['partials'],
    variableComponents: [1],
    outputComponent: 1,
    uniforms: TILING_UNIFORMS,
    getUserCode: () => `
      fn main(c : i32) {
        if (c < uniforms.channels) {
          let pixels = f32(uniforms.spatial);
          var total = 0.0;
          for (var n = 0; n < uniforms.batch; n++) {
            var dySum = 0.0;
            var dyXhat = 0.0;
            var xhat = 0.0;
            for (var k = 0; k < uniforms.splits; k++) {
              let at = ((n * uniforms.splits + k) * ${SUM_FIELDS}) * uniforms.channels + c;
              dySum += partials[at];
              dyXhat += partials[at + uniforms.channels];
              xhat += partials[at + 2 * uniforms.channels];
            }
            total += ${term};
          }
          result[c] = total;
        }
      }
    `,
  };
}

/**
 * Four dispatches: the partial sums, dx, dgamma and dbeta (one output buffer
 * per tfjs WebGPU program, see the forward kernel).
 */
function instanceNormGradWebGPU(args: {
  inputs: InstanceNormGradInputs;
  backend: WebGPUBackend;
  attrs: InstanceNormGradAttrs;
}): TensorInfo[] {
  const {inputs, backend, attrs} = args;
  const {dy, x, gamma, mean, invStd} = inputs;
  const layout = instanceNormLayout(x.shape, attrs.dataFormat);
  if (x.shape.some(d => d === 0)) {
    return [
      backend.makeTensorInfo(x.shape, 'float32', new Float32Array(0)),
      backend.makeTensorInfo([layout.channels], 'float32', new Float32Array(layout.channels)),
      backend.makeTensorInfo([layout.channels], 'float32', new Float32Array(layout.channels)),
    ];
  }
  const t = planTiling(layout, workgroupBudget(backend));
  const uniforms = tilingUniforms(t);
  return runPasses(
    backend,
    run(backend, sumsProgram(t), [dy, x, mean, invStd], uniforms),
    partials => [
      () =>
        run(
          backend,
          inputGradProgram(t, x.shape, gamma != null),
          [dy, x, mean, invStd, partials, ...(gamma ? [gamma] : [])],
          uniforms,
        ),
      () => run(backend, paramGradProgram(t, 'dgamma'), [partials], uniforms),
      () => run(backend, paramGradProgram(t, 'dbeta'), [partials], uniforms),
    ],
  );
}

export const instanceNormGradWebGPUConfig: KernelConfig = {
  kernelName: InstanceNormGrad,
  backendName: 'webgpu',
  kernelFunc: instanceNormGradWebGPU as unknown as KernelFunc,
};
