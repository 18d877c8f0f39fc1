/**
 * WebGL-only behaviour: the kernels under WEBGL_PACK=false and with float16
 * textures (mobile GPUs), inputs that arrive packed, textures that would
 * exceed the maximum texture size, and texture accounting.
 */
import {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

import {instanceNorm} from '../src/index';
import {InstanceNorm, InstanceNormGrad} from '../src/kernel_names';

import {Case, caseData, makeCase, runForwardKernel, runGradientKernel} from './cases';
import {referenceForward, referenceGradient} from './reference';
import {
  describeEachBackend,
  expectClose,
  randomValues,
  tf,
  toFloat16,
  TestEnv,
  WEBGL_F16,
  withoutKernelLeakCheck,
} from './setup';

interface RunResult {
  y: Float32Array;
  dx: Float32Array;
  dgamma: Float32Array;
  dbeta: Float32Array;
}

/** Forward through the op, gradient of sum(y * dy) with respect to x, gamma, beta. */
async function runForwardAndGradient(c: Case, d: ReturnType<typeof caseData>): Promise<RunResult> {
  const x = tf.tensor(d.x, c.shape);
  const dy = tf.tensor(d.dy, c.shape);
  const gamma = tf.tensor1d(d.gamma!);
  const beta = tf.tensor1d(d.beta!);
  const profile = await withoutKernelLeakCheck(() =>
    tf.profile(() => {
      const y = instanceNorm(x, gamma, beta, c.epsilon, c.format);
      const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(instanceNorm(a, g, b, c.epsilon, c.format), dy)),
      )([x, gamma, beta]);
      return [y, ...grads];
    }),
  );
  const names = profile.kernels.map(k => k.name);
  expect(names).toContain(InstanceNorm);
  expect(names).toContain(InstanceNormGrad);
  const outputs = profile.result as tf.Tensor[];
  const [y, dx, dgamma, dbeta] = await Promise.all(
    outputs.map(t => t.data() as Promise<Float32Array>),
  );
  tf.dispose([...outputs, x, dy, gamma, beta]);
  return {y, dx, dgamma, dbeta};
}

function expectAllFinite(values: Float32Array, what: string): void {
  const bad = values.findIndex(v => !Number.isFinite(v));
  expect(bad).withContext(`${what}: element ${bad} is ${values[bad]}`).toBe(-1);
}

const VARIANT_CASES: Case[] = [
  makeCase('f16 range', [2, 12, 10, 3], 'channelsLast', {scale: 50, offset: 100}),
  makeCase('f16 range', [2, 3, 12, 10], 'channelsFirst', {scale: 50, offset: 100}),
  makeCase('a larger image', [1, 48, 48, 4], 'channelsLast', {scale: 50, offset: 100}),
];

describeEachBackend('float16 textures', float16Specs, {envs: [WEBGL_F16]});
describeEachBackend('WEBGL_PACK=false', unpackedSpecs, {envs: ['webgl-unpacked']});
describeEachBackend('textures', textureSpecs, {envs: ['webgl']});

function float16Specs(): void {
  it('really stores float16: a value above 65504 overflows', async () => {
    const big = tf.fill([4, 4], 70000);
    const viaOp = tf.add(big, tf.zerosLike(big));
    // Read back as Infinity or NaN depending on the download path; float32
    // textures would give 70000 back.
    const overflowed = (v: number) => !Number.isFinite(v);
    expect(overflowed((await viaOp.data())[0]))
      .withContext('add(70000, 0)')
      .toBe(true);
    // And the kernel's own outputs are float16 textures.
    const x = tf.tensor(randomValues(16, 1), [1, 4, 4, 1]);
    const y = instanceNorm(x, null, [70000]);
    expect(overflowed((await y.data())[0]))
      .withContext('y with beta 70000')
      .toBe(true);
    tf.dispose([big, viaOp, x, y]);
  });

  for (const c of VARIANT_CASES) {
    it(`forward and gradient within float16 tolerance, no NaN or Inf — ${c.name}: [${c.shape}] ${
      c.format
    }`, async () => {
      // Offset 100, scale 50: sums of squares over the pixels overflow
      // float16 (and so would raw sums of a larger image).
      const d = caseData(c, 21);
      const got = await runForwardAndGradient(c, d);
      for (const [name, values] of Object.entries(got)) expectAllFinite(values, name);
      // The reference sees the inputs as the float16 textures hold them.
      const [x, dy, gamma, beta] = [d.x, d.dy, d.gamma!, d.beta!].map(toFloat16);
      const fwd = referenceForward(x, c.shape, gamma, beta, c.epsilon, c.format);
      const grad = referenceGradient(dy, x, c.shape, gamma, c.epsilon, c.format);
      const f16 = 3e-3;
      expectClose(got.y, fwd.y, f16, f16, 'y');
      const invStd = Math.max(...fwd.invStd);
      expectClose(got.dx, grad.dx, f16 * invStd, f16, 'dx');
      expectClose(got.dgamma, grad.dgamma, f16 * 10, f16, 'dgamma');
      expectClose(got.dbeta, grad.dbeta, f16 * 10, f16, 'dbeta');
    });
  }
}

function unpackedSpecs(env: TestEnv): void {
  it('stores float32 when float16 is not forced: 70000 survives (control of the float16 check)', async () => {
    const big = tf.fill([4, 4], 70000);
    const viaOp = tf.add(big, tf.zerosLike(big));
    expect((await viaOp.data())[0]).toBe(70000);
    tf.dispose([big, viaOp]);
  });

  it('runs unpacked: built-in ops and the kernels produce unpacked textures', () => {
    const backend = tf.backend() as MathBackendWebGL;
    const a = tf.add(tf.ones([2, 4, 4, 2]), 1);
    expect(backend.texData.get(a.dataId).isPacked).toBeFalsy();
    const y = instanceNorm(a);
    expect(backend.texData.get(y.dataId).isPacked).toBeFalsy();
    tf.dispose([a, y]);
  });

  for (const c of VARIANT_CASES) {
    it(`forward and gradient match the float64 reference — ${c.name}: [${c.shape}] ${c.format}`, async () => {
      const d = caseData(c, 22);
      const got = await runForwardAndGradient(c, d);
      const {atol, rtol} = env.tolerance;
      const fwd = referenceForward(d.x, c.shape, d.gamma, d.beta, c.epsilon, c.format);
      const grad = referenceGradient(d.dy, d.x, c.shape, d.gamma, c.epsilon, c.format);
      expectClose(got.y, fwd.y, atol, rtol, 'y');
      expectClose(got.dx, grad.dx, atol / c.scale, rtol, 'dx');
      expectClose(got.dgamma, grad.dgamma, atol * 10, rtol, 'dgamma');
      expectClose(got.dbeta, grad.dbeta, atol * 10, rtol, 'dbeta');
    });
  }
}

function textureSpecs(env: TestEnv): void {
  const {atol, rtol} = env.tolerance;
  type WithTextureManager = {textureManager: {getNumUsedTextures(): number}};
  const usedTextures = () =>
    (tf.backend() as unknown as WithTextureManager).textureManager.getNumUsedTextures();

  it('leaves tensors, data ids, GPU bytes and textures in use unchanged after forward + gradient', async () => {
    const c = VARIANT_CASES[2];
    const d = caseData(c, 23);
    const x = tf.tensor(d.x, c.shape);
    const gamma = tf.tensor1d(d.gamma!);
    const beta = tf.tensor1d(d.beta!);
    const dy = tf.tensor(d.dy, c.shape);
    const run = async () => {
      const y = instanceNorm(x, gamma, beta);
      await y.data();
      y.dispose();
      const grads = await withoutKernelLeakCheck(() =>
        tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(instanceNorm(a, g, b), dy)),
        )([x, gamma, beta]),
      );
      await Promise.all(grads.map(t => t.data()));
      tf.dispose(grads);
    };
    await run(); // uploads x, dy, gamma, beta
    const before = {
      tensors: tf.memory().numTensors,
      dataIds: tf.engine().backend.numDataIds(),
      bytes: (tf.memory() as {numBytesInGPU?: number}).numBytesInGPU,
      textures: usedTextures(),
    };
    for (let i = 0; i < 2; i++) await run();
    expect({
      tensors: tf.memory().numTensors,
      dataIds: tf.engine().backend.numDataIds(),
      bytes: (tf.memory() as {numBytesInGPU?: number}).numBytesInGPU,
      textures: usedTextures(),
    }).toEqual(before);
    tf.dispose([x, gamma, beta, dy]);
  });

  it('runs the packed programs by default: y comes out packed', () => {
    const backend = tf.backend() as MathBackendWebGL;
    const x = tf.tensor(randomValues(2 * 5 * 7 * 3, 5), [2, 5, 7, 3]);
    const y = instanceNorm(x);
    expect(backend.texData.get(x.dataId).isPacked).toBe(true);
    expect(backend.texData.get(y.dataId).isPacked).toBe(true);
    tf.dispose([x, y]);
  });

  it("takes x and dy from packed ops (odd width: the packed layout is not the 3-D view's)", async () => {
    const c = makeCase('packed', [2, 5, 7, 3], 'channelsLast');
    const d = caseData(c, 24);
    const backend = tf.backend() as MathBackendWebGL;
    const xRaw = tf.tensor(d.x, c.shape);
    const dyRaw = tf.tensor(d.dy, c.shape);
    // Packed binary ops (the default) leave packed textures.
    const x = tf.add(xRaw, tf.zeros(c.shape));
    const dy = tf.add(dyRaw, tf.zeros(c.shape));
    expect(backend.texData.get(x.dataId).isPacked).toBe(true);
    const gamma = tf.tensor1d(d.gamma!);
    const outputs = runForwardKernel(x, gamma, null, c.epsilon, c.format);
    const grads = runGradientKernel(dy, x, gamma, outputs[1], outputs[2], c.format);
    const fwd = referenceForward(d.x, c.shape, d.gamma, null, c.epsilon, c.format);
    const grad = referenceGradient(d.dy, d.x, c.shape, d.gamma, c.epsilon, c.format);
    expectClose(await outputs[0].data(), fwd.y, atol, rtol, 'y');
    expectClose(await grads[0].data(), grad.dx, atol, rtol, 'dx');
    expectClose(await grads[1].data(), grad.dgamma, atol * 10, rtol, 'dgamma');
    tf.dispose([...outputs, ...grads, x, dy, xRaw, dyRaw, gamma]);
  });

  // The gradient follows x's storage; dy stored the other way is converted
  // (a packed dy for the unpacked programs must be unpacked with its own
  // shape: width 7 is odd, so its packed layout is not the 3-D view's).
  for (const xPacked of [true, false]) {
    it(`takes dy stored ${xPacked ? 'unpacked with a packed x' : 'packed with an unpacked x'}`, async () => {
      const c = makeCase('mixed', [2, 5, 7, 3], 'channelsLast', {withBeta: false});
      const d = caseData(c, 26);
      const backend = tf.backend() as MathBackendWebGL;
      const stored = (values: Float32Array, packed: boolean) => {
        const packedTensor = tf.add(tf.tensor(values, c.shape), tf.zeros(c.shape));
        if (packed) return packedTensor;
        const info = backend.unpackTensor({
          dataId: packedTensor.dataId,
          shape: c.shape,
          dtype: 'float32',
        });
        packedTensor.dispose();
        return tf.engine().makeTensorFromTensorInfo(info);
      };
      const x = stored(d.x, xPacked);
      const dy = stored(d.dy, !xPacked);
      expect(!!backend.texData.get(x.dataId).isPacked).toBe(xPacked);
      expect(!!backend.texData.get(dy.dataId).isPacked).toBe(!xPacked);
      const gamma = tf.tensor1d(d.gamma!);
      const fwd = referenceForward(d.x, c.shape, null, null, c.epsilon, c.format);
      const mean = tf.tensor2d(Float32Array.from(fwd.mean), [2, 3]);
      const invStd = tf.tensor2d(Float32Array.from(fwd.invStd), [2, 3]);
      const grads = runGradientKernel(dy, x, gamma, mean, invStd, c.format);
      expect(!!backend.texData.get(grads[0].dataId).isPacked).toBe(xPacked);
      const grad = referenceGradient(d.dy, d.x, c.shape, d.gamma, c.epsilon, c.format);
      expectClose(await grads[0].data(), grad.dx, atol, rtol, 'dx');
      expectClose(await grads[1].data(), grad.dgamma, atol * 10, rtol, 'dgamma');
      expectClose(await grads[2].data(), grad.dbeta, atol * 10, rtol, 'dbeta');
      tf.dispose([...grads, x, dy, gamma, mean, invStd]);
    });
  }

  // Chunks that straddle line ends of odd length, where a packed texel is
  // half padding: the chunk counts must be exact.
  const oddLines: Array<[number[], 'channelsLast' | 'channelsFirst']> = [
    [[1, 23, 41, 3], 'channelsLast'], // texel columns = channels, odd rows of 41
    [[2, 301, 5], 'channelsLast'], // rank 3, one odd line per (n, c)
    [[1, 3, 41, 23], 'channelsFirst'], // 2x2 pixels a texel, odd H and W
    [[1, 2, 3, 9, 7], 'channelsFirst'], // three slabs of odd H, chunks across them
    [[2, 3, 301], 'channelsFirst'], // rank 3, texel rows = channels
  ];
  for (const [shape, format] of oddLines) {
    it(`splits odd-sized images into chunks exactly — [${shape}] ${format}`, async () => {
      await expectMatchesReference(makeCase('odd', shape, format, {scale: 3, offset: 5}), 27);
    });
  }

  // A long narrow x: one texture dimension would exceed the real limit; the
  // backend lays such tensors out as squarish textures.
  for (const format of ['channelsLast', 'channelsFirst'] as const) {
    it(`handles x longer than WEBGL_MAX_TEXTURE_SIZE — ${format}`, async () => {
      const maxSize = tf.env().getNumber('WEBGL_MAX_TEXTURE_SIZE');
      const spatial = maxSize + 123;
      const shape = format === 'channelsLast' ? [1, spatial, 2] : [1, 2, spatial];
      await expectMatchesReference(makeCase('large', shape, format), 25);
    });
  }

  // With the limit lowered, an ordinary image exceeds it in both texture
  // dimensions ([N*H*W, C] and [N*C, H*W] layouts alike).
  for (const format of ['channelsLast', 'channelsFirst'] as const) {
    it(`handles x whose texture exceeds a lowered WEBGL_MAX_TEXTURE_SIZE — ${format}`, async () => {
      const previous = tf.env().getNumber('WEBGL_MAX_TEXTURE_SIZE');
      tf.env().set('WEBGL_MAX_TEXTURE_SIZE', 128);
      try {
        const shape = format === 'channelsLast' ? [2, 40, 50, 3] : [2, 3, 40, 50];
        await expectMatchesReference(makeCase('large', shape, format), 25);
      } finally {
        tf.env().set('WEBGL_MAX_TEXTURE_SIZE', previous);
      }
    });
  }

  /** The op's forward and gradient on case c (data of `seed`) against the float64 reference. */
  async function expectMatchesReference(c: Case, seed: number): Promise<void> {
    const d = caseData(c, seed);
    const got = await runForwardAndGradient(c, d);
    const fwd = referenceForward(d.x, c.shape, d.gamma, d.beta, c.epsilon, c.format);
    const grad = referenceGradient(d.dy, d.x, c.shape, d.gamma, c.epsilon, c.format);
    expectClose(got.y, fwd.y, atol, rtol, 'y');
    expectClose(got.dx, grad.dx, atol, rtol, 'dx');
    expectClose(got.dgamma, grad.dgamma, atol * 10, rtol, 'dgamma');
    expectClose(got.dbeta, grad.dbeta, atol * 10, rtol, 'dbeta');
  }
}
