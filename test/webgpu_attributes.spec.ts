/**
 * The WebGPU kernels with every attribute of the kernel contract (activation
 * and alpha, epsilonMode, gamma/beta `[C]` or `[N, C]`, groups, rank 2 to 5)
 * against a float64 reference written here from the contract's formulas, on
 * every plan: the adapter's, the GPU plan forced (one-pass programs on small
 * groups) and the reduction spread over a few looping workgroups.
 */
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';

import {
  ACTIVATIONS,
  Activation,
  EpsilonMode,
  InstanceNorm,
  InstanceNormGrad,
  SELU_ALPHA,
  SELU_SCALE,
} from '../src/kernel_names';
import {PLAN_FLAG} from '../kernels/common/device_class';
import {TARGET_WORKGROUPS_FLAG} from '../kernels/webgpu/budget';

import {describeEachBackend, expectClose, DataFormat, randomValues, tf, tolerance} from './setup';

interface AttributeCase {
  shape: number[];
  format: DataFormat;
  groups?: number;
  activation: Activation;
  alpha?: number;
  epsilonMode: EpsilonMode;
  /** gamma and beta: absent, [C] or [N, C]. */
  gamma: 'absent' | 'channel' | 'instance';
  beta: 'absent' | 'channel' | 'instance';
  /** Make (n = 0, group 0) constant (sigma = 0). */
  constantGroup?: boolean;
}

/** erf by Simpson's rule on exp(-t^2): float64, far below float32's error. */
const erf = (v: number): number => {
  const a = Math.abs(v);
  const steps = 2000;
  const h = a / steps;
  let sum = 0;
  for (let i = 0; i <= steps; i++) {
    const w = i === 0 || i === steps ? 1 : i % 2 === 1 ? 4 : 2;
    sum += w * Math.exp(-((i * h) ** 2));
  }
  return (Math.sign(v) * (2 / Math.sqrt(Math.PI)) * sum * h) / 3;
};

/** act(z) and act'(z), in float64. */
function activation(name: Activation, z: number, alpha: number): [number, number] {
  const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
  switch (name) {
    case 'linear':
      return [z, 1];
    case 'relu':
      return [Math.max(z, 0), z > 0 ? 1 : 0];
    case 'relu6':
      return [Math.min(Math.max(z, 0), 6), z > 0 && z <= 6 ? 1 : 0];
    case 'leakyRelu':
      return [z > 0 ? z : alpha * z, z > 0 ? 1 : alpha];
    case 'elu':
      return [z > 0 ? z : Math.exp(z) - 1, z > 0 ? 1 : Math.exp(z)];
    case 'selu':
      return [
        SELU_SCALE * (z > 0 ? z : SELU_ALPHA * (Math.exp(z) - 1)),
        SELU_SCALE * (z > 0 ? 1 : SELU_ALPHA * Math.exp(z)),
      ];
    case 'sigmoid': {
      const s = sigmoid(z);
      return [s, s * (1 - s)];
    }
    case 'tanh': {
      const t = Math.tanh(z);
      return [t, 1 - t * t];
    }
    case 'swish': {
      const s = sigmoid(z);
      return [z * s, s + z * s * (1 - s)];
    }
    case 'mish': {
      const sp = Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
      const t = Math.tanh(sp);
      return [z * t, t + z * (1 - t * t) * sigmoid(z)];
    }
    case 'gelu':
      return [
        0.5 * z * (1 + erf(z / Math.SQRT2)),
        0.5 * (1 + erf(z / Math.SQRT2)) + (z * Math.exp((-z * z) / 2)) / Math.sqrt(2 * Math.PI),
      ];
    case 'gelu_new': {
      const c = Math.sqrt(2 / Math.PI);
      const t = Math.tanh(c * (z + 0.044715 * z ** 3));
      return [
        0.5 * z * (1 + t),
        0.5 * (1 + t) + 0.5 * z * (1 - t * t) * c * (1 + 3 * 0.044715 * z * z),
      ];
    }
  }
}

interface Reference {
  y: Float64Array;
  mean: Float64Array;
  invStd: Float64Array;
  dx: Float64Array;
  dgamma: Float64Array;
  dbeta: Float64Array;
}

/** Forward and gradient of the contract in float64. */
function reference(
  c: AttributeCase,
  x: Float32Array,
  dy: Float32Array,
  gamma: Float32Array | null,
  beta: Float32Array | null,
  epsilon: number,
): Reference {
  const {shape, format} = c;
  const batch = shape[0];
  const channels = format === 'channelsLast' ? shape[shape.length - 1] : shape[1];
  const spatial = x.length / (batch * channels);
  const groups = c.groups ?? channels;
  const perGroup = channels / groups;
  const alpha = c.alpha ?? 0.2;
  const at = (n: number, ch: number, s: number) =>
    format === 'channelsLast'
      ? (n * spatial + s) * channels + ch
      : (n * channels + ch) * spatial + s;
  const param = (
    values: Float32Array | null,
    layout: string,
    n: number,
    ch: number,
    absent: number,
  ) => (values == null ? absent : layout === 'instance' ? values[n * channels + ch] : values[ch]);
  const out: Reference = {
    y: new Float64Array(x.length),
    mean: new Float64Array(batch * groups),
    invStd: new Float64Array(batch * groups),
    dx: new Float64Array(x.length),
    dgamma: new Float64Array(c.gamma === 'instance' ? batch * channels : channels),
    dbeta: new Float64Array(c.beta === 'instance' ? batch * channels : channels),
  };
  for (let n = 0; n < batch; n++) {
    for (let g = 0; g < groups; g++) {
      const members: Array<[number, number]> = [];
      for (let k = 0; k < perGroup; k++) {
        for (let s = 0; s < spatial; s++)
          members.push([at(n, g * perGroup + k, s), g * perGroup + k]);
      }
      const m = members.length;
      let mu = 0;
      for (const [i] of members) mu += x[i];
      mu /= m;
      let variance = 0;
      for (const [i] of members) variance += (x[i] - mu) ** 2;
      variance /= m;
      const sigma = Math.sqrt(variance);
      const r =
        c.epsilonMode === 'stddev' ? 1 / (sigma + epsilon) : 1 / Math.sqrt(variance + epsilon);
      const k = c.epsilonMode === 'stddev' ? (sigma > 0 ? 1 / sigma : 0) : r;
      out.mean[n * groups + g] = mu;
      out.invStd[n * groups + g] = r;
      let sumU = 0;
      let sumUXhat = 0;
      const dz = new Float64Array(m);
      members.forEach(([i, ch], j) => {
        const xhat = (x[i] - mu) * r;
        const gm = param(gamma, c.gamma, n, ch, 1);
        const z = xhat * gm + param(beta, c.beta, n, ch, 0);
        const [value, slope] = activation(c.activation, z, alpha);
        out.y[i] = value;
        dz[j] = dy[i] * slope;
        sumU += gm * dz[j];
        sumUXhat += gm * dz[j] * xhat;
        out.dgamma[(c.gamma === 'instance' ? n * channels : 0) + ch] += dz[j] * xhat;
        out.dbeta[(c.beta === 'instance' ? n * channels : 0) + ch] += dz[j];
      });
      members.forEach(([i, ch], j) => {
        const xhat = (x[i] - mu) * r;
        const u = param(gamma, c.gamma, n, ch, 1) * dz[j];
        out.dx[i] = r * u - (r / m) * sumU - (k / m) * xhat * sumUXhat;
      });
    }
  }
  return out;
}

function describeAttributeCase(c: AttributeCase): string {
  const parts = [
    `[${c.shape}] ${c.format}`,
    c.groups != null ? `groups ${c.groups}` : 'instance',
    c.activation + (c.alpha != null ? `(${c.alpha})` : ''),
    c.epsilonMode,
    `gamma ${c.gamma}, beta ${c.beta}`,
  ];
  if (c.constantGroup) parts.push('a constant group');
  return parts.join(', ');
}

async function checkAttributeCase(c: AttributeCase, seed: number): Promise<void> {
  const {atol, rtol} = tolerance('webgpu');
  const size = c.shape.reduce((a, b) => a * b, 1);
  const batch = c.shape[0];
  const channels = c.format === 'channelsLast' ? c.shape[c.shape.length - 1] : c.shape[1];
  const x = randomValues(size, seed, 2, 0.5);
  if (c.constantGroup) {
    // Every element of (n = 0, group 0): channelsLast pixels of the first
    // channels, channelsFirst the first rows.
    const groups = c.groups ?? channels;
    const perGroup = channels / groups;
    const spatial = size / (batch * channels);
    for (let k = 0; k < perGroup; k++) {
      for (let s = 0; s < spatial; s++) {
        x[c.format === 'channelsLast' ? s * channels + k : k * spatial + s] = 0.75;
      }
    }
  }
  const dy = randomValues(size, seed + 1);
  const paramValues = (layout: string, s: number, offset: number) =>
    layout === 'absent'
      ? null
      : randomValues(layout === 'instance' ? batch * channels : channels, s, 1, offset);
  const gamma = paramValues(c.gamma, seed + 2, 1);
  const beta = paramValues(c.beta, seed + 3, 0);
  const epsilon = c.epsilonMode === 'stddev' ? 1e-3 : 1e-5;
  const expected = reference(c, x, dy, gamma, beta, epsilon);

  const tensorOf = (values: Float32Array | null, layout: string) =>
    values == null
      ? undefined
      : tf.tensor(values, layout === 'instance' ? [batch, channels] : [channels]);
  const inputs = {
    x: tf.tensor(x, c.shape),
    dy: tf.tensor(dy, c.shape),
    gamma: tensorOf(gamma, c.gamma),
    beta: tensorOf(beta, c.beta),
  };
  const defined = (map: Record<string, tf.Tensor | undefined>) =>
    Object.fromEntries(Object.entries(map).filter(([, t]) => t != null)) as tf.NamedTensorMap;
  const attrs = {
    epsilon,
    dataFormat: c.format,
    ...(c.groups != null ? {groups: c.groups} : {}),
    epsilonMode: c.epsilonMode,
    activation: c.activation,
    ...(c.alpha != null ? {alpha: c.alpha} : {}),
  };
  const before = tf.memory().numTensors;
  // A WGSL error invalidates the whole command buffer without throwing.
  const device = (tf.backend() as WebGPUBackend).device;
  device.pushErrorScope('validation');
  const [y, mean, invStd] = tf
    .engine()
    .runKernel(
      InstanceNorm,
      defined({x: inputs.x, gamma: inputs.gamma, beta: inputs.beta}),
      attrs as unknown as tf.NamedAttrMap,
    ) as tf.Tensor[];
  const [dx, dgamma, dbeta] = tf
    .engine()
    .runKernel(
      InstanceNormGrad,
      defined({dy: inputs.dy, x: inputs.x, gamma: inputs.gamma, beta: inputs.beta, mean, invStd}),
      attrs as unknown as tf.NamedAttrMap,
    ) as tf.Tensor[];
  expect(await device.popErrorScope())
    .withContext('WGSL or dispatch errors')
    .toBeNull();
  expect(tf.memory().numTensors).toBe(before + 6);
  expect(dgamma.shape).toEqual(c.gamma === 'instance' ? [batch, channels] : [channels]);
  expect(dbeta.shape).toEqual(c.beta === 'instance' ? [batch, channels] : [channels]);
  expectClose(await y.data(), expected.y, atol, rtol, 'y');
  expectClose(await mean.data(), expected.mean, atol, rtol, 'mean');
  expectClose(await invStd.data(), expected.invStd, atol, rtol, 'invStd', 1);
  // A constant group's invStd is 1 / epsilon: dx scales with it.
  const dxScale = c.constantGroup
    ? c.epsilonMode === 'stddev'
      ? 1 / epsilon
      : 1 / Math.sqrt(epsilon)
    : 1;
  expectClose(await dx.data(), expected.dx, atol * dxScale, rtol, 'dx');
  expectClose(await dgamma.data(), expected.dgamma, atol * 10, rtol, 'dgamma');
  expectClose(await dbeta.data(), expected.dbeta, atol * 10, rtol, 'dbeta');
  tf.dispose([y, mean, invStd, dx, dgamma, dbeta, ...Object.values(defined(inputs))]);
  expect(tf.memory().numTensors).toBe(before - Object.keys(defined(inputs)).length);
}

/** Shapes on which the cases cycle: every layout, rank 2 to 5, one-pass and tiled extents. */
const SHAPES: Array<[number[], DataFormat, number | undefined]> = [
  [[2, 5, 6, 8], 'channelsLast', 4],
  [[2, 8, 5, 6], 'channelsFirst', undefined],
  [[3, 8], 'channelsLast', 2],
  [[2, 3, 4, 5, 12], 'channelsLast', 3],
  [[2, 6, 7], 'channelsFirst', 3],
  [[1, 72, 64, 4], 'channelsLast', undefined],
  [[1, 4, 72, 64], 'channelsFirst', 2],
];

function attributeCases(): AttributeCase[] {
  const cases: AttributeCase[] = [];
  ACTIVATIONS.forEach((name, i) => {
    const [shape, format, groups] = SHAPES[i % SHAPES.length];
    const layouts = ['channel', 'instance', 'absent'] as const;
    cases.push({
      shape,
      format,
      groups,
      activation: name,
      epsilonMode: i % 2 === 0 ? 'variance' : 'stddev',
      gamma: layouts[i % 3],
      beta: layouts[(i + 1) % 3],
    });
  });
  cases.push({
    shape: [2, 5, 6, 8],
    format: 'channelsLast',
    groups: 4,
    activation: 'leakyRelu',
    alpha: 0.05,
    epsilonMode: 'variance',
    gamma: 'instance',
    beta: 'instance',
  });
  for (const [shape, format, groups] of SHAPES) {
    cases.push({
      shape,
      format,
      groups,
      activation: 'swish',
      epsilonMode: 'stddev',
      gamma: 'instance',
      beta: 'channel',
      constantGroup: true,
    });
    cases.push({
      shape,
      format,
      groups,
      activation: 'linear',
      epsilonMode: 'variance',
      gamma: 'channel',
      beta: 'instance',
    });
  }
  return cases;
}

describeEachBackend(
  'webgpu kernels with every attribute',
  () => {
    const plans: Array<[string, string, number]> = [
      ['the adapter plan', 'auto', 0],
      ['the GPU plan', 'gpu', 0],
      ['3 looping workgroups', 'auto', 3],
    ];
    for (const [planName, plan, target] of plans) {
      describe(planName, () => {
        let saved: [string, number];
        beforeAll(() => {
          saved = [tf.env().get(PLAN_FLAG) as string, tf.env().getNumber(TARGET_WORKGROUPS_FLAG)];
          tf.env().set(PLAN_FLAG, plan);
          tf.env().set(TARGET_WORKGROUPS_FLAG, target);
        });
        afterAll(() => {
          tf.env().set(PLAN_FLAG, saved[0]);
          tf.env().set(TARGET_WORKGROUPS_FLAG, saved[1]);
        });
        attributeCases().forEach((c, i) => {
          it(`matches float64 — ${describeAttributeCase(c)}`, () => checkAttributeCase(c, 100 + i));
        });
      });
    }
  },
  {envs: ['webgpu']},
);
