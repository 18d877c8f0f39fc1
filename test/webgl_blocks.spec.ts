/**
 * The WebGL kernels with every attribute, run directly (tf.engine().runKernel)
 * on both storage families and float16 textures, against the float64
 * reference: each activation, gamma/beta `[C]` or `[N, C]`, both epsilon
 * modes, rank 2 to 5, both formats; one-pixel and one-element groups, whose
 * dx is exactly 0; and the draws of a block equal those of the plain op.
 */
import type {NamedAttrMap} from '@tensorflow/tfjs-core';
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

import {ACTIVATIONS, Activation, InstanceNorm, InstanceNormGrad} from '../src/kernel_names';
import type {EpsilonMode} from '../src/kernel_names';

import {NormSettings, referenceNorm, referenceNormGradient} from './reference';
import {
  describeEachBackend,
  expectClose,
  DataFormat,
  randomValues,
  tf,
  TestEnv,
  tolerance,
} from './setup';

interface BlockCase {
  shape: number[];
  format: DataFormat;
  groups?: number;
  activation: Activation;
  epsilonMode?: EpsilonMode;
  perInstance?: boolean;
  alpha?: number;
}

const SHAPES: Array<[number[], DataFormat, number?]> = [
  [[2, 5, 7, 3], 'channelsLast'],
  [[2, 3, 5, 7], 'channelsFirst'],
  [[3, 6], 'channelsLast', 2],
  [[2, 4, 9], 'channelsFirst', 2],
  [[1, 2, 3, 4, 6], 'channelsLast', 3],
];

function cases(): BlockCase[] {
  const all: BlockCase[] = [];
  ACTIVATIONS.forEach((activation, i) => {
    const [shape, format, groups] = SHAPES[i % SHAPES.length];
    all.push({
      shape,
      format,
      groups,
      activation,
      epsilonMode: i % 2 === 0 ? 'variance' : 'stddev',
      perInstance: i % 3 === 0,
      alpha: activation === 'leakyRelu' ? 0.3 : undefined,
    });
  });
  for (const [shape, format, groups] of SHAPES) {
    all.push({
      shape,
      format,
      groups,
      activation: 'linear',
      epsilonMode: 'stddev',
      perInstance: true,
    });
    all.push({shape, format, groups, activation: 'swish'});
  }
  return all;
}

function channelsOf(c: BlockCase): number {
  return c.format === 'channelsLast' ? c.shape[c.shape.length - 1] : c.shape[1];
}

/** Kernel attributes without the absent ones. */
function kernelAttrs(attrs: Record<string, unknown>): NamedAttrMap {
  const {format: _format, ...rest} = attrs;
  return Object.fromEntries(
    Object.entries(rest).filter(([, v]) => v != null),
  ) as unknown as NamedAttrMap;
}

/** Worst scaled error per activation, per env, printed after the suites. */
const worst: Record<string, Record<string, number>> = {};

describeEachBackend('webgl blocks', blockSpecs, {envs: ['webgl', 'webgl-unpacked', 'webgl-f16']});

function blockSpecs(env: TestEnv): void {
  const envName = env.name;
  afterAll(() => {
    console.log(`worst error per activation [${envName}]: ${JSON.stringify(worst[envName])}`);
  });

  cases().forEach((c, index) => {
    const title =
      `${c.activation} ${c.epsilonMode ?? 'variance'} ${c.perInstance ? '[N, C]' : '[C]'} ` +
      `gamma/beta — [${c.shape}] ${c.format}${c.groups ? ` groups ${c.groups}` : ''}`;
    it(`forward and gradient match the float64 reference: ${title}`, async () => {
      const size = c.shape.reduce((a, b) => a * b, 1);
      const channels = channelsOf(c);
      const params = (c.perInstance ? c.shape[0] : 1) * channels;
      const paramShape = c.perInstance ? [c.shape[0], channels] : [channels];
      const data = {
        x: randomValues(size, 100 + index, 2, 0.5),
        dy: randomValues(size, 200 + index),
        gamma: randomValues(params, 300 + index, 0.5, 1),
        beta: randomValues(params, 400 + index, 0.5),
      };
      const settings: NormSettings = {
        epsilon: 1e-3,
        format: c.format,
        groups: c.groups,
        epsilonMode: c.epsilonMode,
        activation: c.activation,
        alpha: c.alpha,
      };
      const attrs = kernelAttrs({...settings, dataFormat: c.format});
      const before = tf.memory().numTensors;
      const x = tf.tensor(data.x, c.shape);
      const dy = tf.tensor(data.dy, c.shape);
      const gamma = tf.tensor(data.gamma, paramShape);
      const beta = tf.tensor(data.beta, paramShape);
      const forward = tf.engine().runKernel(InstanceNorm, {x, gamma, beta}, attrs) as tf.Tensor[];
      const [, mean, invStd] = forward;
      const grads = tf
        .engine()
        .runKernel(InstanceNormGrad, {dy, x, gamma, beta, mean, invStd}, attrs) as tf.Tensor[];
      const [y, gotMean, gotInvStd, dx, dgamma, dbeta] = await Promise.all(
        [...forward, ...grads].map(t => t.data()),
      );
      expect(grads[1].shape).toEqual(paramShape);
      expect(grads[2].shape).toEqual(paramShape);
      tf.dispose([...forward, ...grads, x, dy, gamma, beta]);
      expect(tf.memory().numTensors).toBe(before);

      const ref = referenceNorm(data.x, c.shape, data.gamma, data.beta, settings);
      const refGrad = referenceNormGradient(
        data.dy,
        data.x,
        c.shape,
        data.gamma,
        data.beta,
        settings,
      );
      const {atol, rtol} = tolerance(envName);
      let scaled = 0;
      const check = (got: ArrayLike<number>, want: ArrayLike<number>, what: string) => {
        scaled = Math.max(scaled, expectClose(got, want, atol, rtol, what, 1).scaled);
      };
      check(y, ref.y, 'y');
      check(gotMean, ref.mean, 'mean');
      check(gotInvStd, ref.invStd, 'invStd');
      check(dx, refGrad.dx, 'dx');
      check(dgamma, refGrad.dgamma, 'dgamma');
      check(dbeta, refGrad.dbeta, 'dbeta');
      const table = (worst[envName] ??= {});
      table[c.activation] = Math.max(table[c.activation] ?? 0, scaled);
    });
  });

  for (const [shape, format, groups] of [
    [[3, 1, 1, 4], 'channelsLast', undefined],
    [[3, 4, 1, 1], 'channelsFirst', undefined],
    [[3, 4], 'channelsLast', undefined],
    [[2, 1, 6], 'channelsLast', 6],
  ] as Array<[number[], DataFormat, number | undefined]>) {
    for (const activation of ['linear', 'leakyRelu', 'gelu'] as Activation[]) {
      it(`gives dx exactly 0 for one-element groups — [${shape}] ${format} ${activation}`, async () => {
        const size = shape.reduce((a, b) => a * b, 1);
        const channels = format === 'channelsLast' ? shape[shape.length - 1] : shape[1];
        const x = tf.tensor(randomValues(size, 5, 3, 1), shape);
        const dy = tf.tensor(randomValues(size, 6), shape);
        const gamma = tf.tensor(randomValues(channels, 7, 0.5, 1), [channels]);
        const beta = tf.tensor(randomValues(channels, 8), [channels]);
        const attrs = kernelAttrs({epsilon: 1e-3, dataFormat: format, groups, activation});
        const forward = tf.engine().runKernel(InstanceNorm, {x, gamma, beta}, attrs) as tf.Tensor[];
        const [y, mean, invStd] = forward;
        const grads = tf
          .engine()
          .runKernel(InstanceNormGrad, {dy, x, gamma, beta, mean, invStd}, attrs) as tf.Tensor[];
        const dx = await grads[0].data();
        expect(Array.from(dx)).toEqual(new Array(size).fill(0));
        // y is act(beta): xhat is 0.
        const settings: NormSettings = {epsilon: 1e-3, format, groups, activation};
        const ref = referenceNorm(
          await x.data(),
          shape,
          await gamma.data(),
          await beta.data(),
          settings,
        );
        const {atol, rtol} = tolerance(envName);
        expectClose(await y.data(), ref.y, atol, rtol, 'y');
        tf.dispose([...forward, ...grads, x, dy, gamma, beta]);
      });
    }
  }

  it('draws as many programs for a block as for the plain op', () => {
    const backend = tf.backend() as MathBackendWebGL;
    const x = tf.add(tf.ones([2, 6, 5, 4]), tf.range(0, 4));
    const gamma = tf.add(tf.ones([2, 4]), 1);
    const beta = tf.add(tf.zeros([2, 4]), 1);
    const dy = tf.add(tf.ones([2, 6, 5, 4]), 2);
    const counts: number[] = [];
    const draws = spyOn(backend, 'runWebGLProgram').and.callThrough();
    for (const activation of ['linear', 'gelu'] as Activation[]) {
      const attrs = {epsilon: 1e-5, dataFormat: 'channelsLast', groups: 2, activation};
      // A first call uploads what small ops left on the CPU.
      tf.dispose(tf.engine().runKernel(InstanceNorm, {x, gamma, beta}, attrs) as tf.Tensor[]);
      draws.calls.reset();
      const outputs = tf.engine().runKernel(InstanceNorm, {x, gamma, beta}, attrs) as tf.Tensor[];
      counts.push(draws.calls.count());
      draws.calls.reset();
      const [, mean, invStd] = outputs;
      const grads = tf
        .engine()
        .runKernel(InstanceNormGrad, {dy, x, gamma, beta, mean, invStd}, attrs) as tf.Tensor[];
      counts.push(draws.calls.count());
      tf.dispose([...outputs, ...grads]);
    }
    console.log(`draws [${envName}] plain fwd, grad / gelu block fwd, grad: ${counts}`);
    expect(counts.slice(2)).toEqual(counts.slice(0, 2));
    tf.dispose([x, gamma, beta, dy]);
  });
}
