// The checks every consumer runs against the installed package, whatever way
// it arrived (import, require, a bundler, a script tag). Plain JS for Node and
// browsers alike; `tf` and the package (`lib`) are passed in, and so is the
// float64 reference (test/reference.ts compiled by the runner, ../pack.mjs).

/** Deterministic values in [-1, 1): the same data on every platform. */
function values(count, seed) {
  let state = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

/** Worst |a - e| - (atol + rtol |e|) over the elements; <= 0 means close. */
function worstExcess(actual, expected, atol, rtol) {
  let worst = actual.length === expected.length ? -Infinity : Infinity;
  for (let i = 0; i < expected.length; i++) {
    const excess = Math.abs(actual[i] - expected[i]) - (atol + rtol * Math.abs(expected[i]));
    worst = Number.isFinite(excess) ? Math.max(worst, excess) : Infinity;
  }
  return worst;
}

function collector(label) {
  const results = [];
  const check = (name, ok, detail = '') =>
    results.push({name: `${label}: ${name}`, ok: !!ok, detail});
  return {results, check};
}

/**
 * instanceNorm and its gradient on the active backend against float64, in
 * both layouts; the fused kernels must run wherever the package registered
 * them, and nothing may leak. `expectFused`: whether the entry imported
 * registers kernels for this backend (default: on cpu, which the root entry
 * registers and every consumer here has); where it does not, the composite
 * (built-in ops) must give the same values.
 */
export async function checkOp(tf, lib, ref, label, expectFused = tf.getBackend() === 'cpu') {
  const {results, check} = collector(label);
  const backend = tf.getBackend();
  const tol = backend === 'cpu' ? 1e-4 : 1e-3;
  const epsilon = 1e-3;
  for (const dataFormat of ['channelsLast', 'channelsFirst']) {
    const shape = dataFormat === 'channelsLast' ? [2, 3, 4, 5] : [2, 5, 3, 4];
    const size = shape.reduce((a, b) => a * b);
    const x = values(size, 1).map(v => 10 + 3 * v);
    const gamma = values(5, 2).map(v => 1 + v);
    const beta = values(5, 3);
    const dy = values(size, 4);
    const before = tf.memory().numTensors;
    const [xt, gt, bt, dyt] = [
      tf.tensor(x, shape),
      tf.tensor1d(gamma),
      tf.tensor1d(beta),
      tf.tensor(dy, shape),
    ];
    // dy is given, so no built-in op gradient is needed (tfjs-core alone has none).
    const profile = await tf.profile(() => [
      lib.instanceNorm(xt, gt, bt, epsilon, dataFormat),
      ...tf.grads((a, g, b) => lib.instanceNorm(a, g, b, epsilon, dataFormat))([xt, gt, bt], dyt),
    ]);
    const [y, dx, dgamma, dbeta] = await Promise.all(profile.result.map(t => t.data()));
    const forward = ref.referenceForward(x, shape, gamma, beta, epsilon, dataFormat);
    const backward = ref.referenceGradient(dy, x, shape, gamma, epsilon, dataFormat);
    const where = `${backend}, ${dataFormat}`;
    for (const [name, got, want] of [
      ['y', y, forward.y],
      ['dx', dx, backward.dx],
      ['dgamma', dgamma, backward.dgamma],
      ['dbeta', dbeta, backward.dbeta],
    ]) {
      const excess = worstExcess(got, want, tol, tol);
      check(
        `${name} matches float64 (${where})`,
        excess <= 0,
        `worst excess over tolerance ${excess.toExponential(2)}`,
      );
    }
    const registered =
      tf.getKernel(lib.InstanceNorm, backend) != null &&
      tf.getKernel(lib.InstanceNormGrad, backend) != null;
    const ranFused =
      profile.kernelNames.includes(lib.InstanceNorm) &&
      profile.kernelNames.includes(lib.InstanceNormGrad);
    check(
      `the fused kernels ran where registered (${where})`,
      ranFused === registered && (!expectFused || ranFused),
      `registered ${registered}, kernels run: ${profile.kernelNames.join(' ')}`,
    );
    tf.dispose([xt, gt, bt, dyt, ...profile.result]);
    check(
      `no tensor leaked (${where})`,
      tf.memory().numTensors === before,
      `${tf.memory().numTensors - before} left`,
    );
  }
  return results;
}

/**
 * One step of optimizer.minimize through instanceNorm with x, gamma and beta
 * trainable: the loss must be finite and go down, and every variable move.
 */
export async function checkTrainStep(tf, lib, label) {
  const {results, check} = collector(label);
  const backend = tf.getBackend();
  const shape = [2, 4, 4, 3];
  const size = shape.reduce((a, b) => a * b);
  const before = tf.memory().numTensors;
  // Inside tidy: a variable shares the data of its initial value, which is disposed.
  const xVar = tf.tidy(() => tf.variable(tf.tensor(values(size, 5), shape)));
  const gammaVar = tf.tidy(() => tf.variable(tf.ones([3])));
  const betaVar = tf.tidy(() => tf.variable(tf.zeros([3])));
  const target = tf.tensor(values(size, 6), shape);
  const loss = () => tf.mean(tf.square(tf.sub(lib.instanceNorm(xVar, gammaVar, betaVar), target)));
  const optimizer = tf.train.sgd(0.5);
  const startValues = await Promise.all([xVar, gammaVar, betaVar].map(v => v.data()));
  const profile = await tf.profile(() => optimizer.minimize(loss, true));
  const lossBefore = (await profile.result.data())[0];
  const lossAfterTensor = tf.tidy(loss);
  const lossAfter = (await lossAfterTensor.data())[0];
  check(
    `training step: loss finite and lower (${backend})`,
    Number.isFinite(lossBefore) && Number.isFinite(lossAfter) && lossAfter < lossBefore,
    `loss ${lossBefore} -> ${lossAfter}`,
  );
  const endValues = await Promise.all([xVar, gammaVar, betaVar].map(v => v.data()));
  const moved = endValues.map((end, i) => end.some((v, j) => v !== startValues[i][j]));
  check(
    `training step: x, gamma and beta all updated (${backend})`,
    moved.every(Boolean),
    `moved ${moved}`,
  );
  const registered = tf.getKernel(lib.InstanceNormGrad, backend) != null;
  check(
    `training step: the fused gradient kernel ran where registered (${backend})`,
    profile.kernelNames.includes(lib.InstanceNormGrad) === registered &&
      (backend !== 'cpu' || registered),
    `registered ${registered}`,
  );
  tf.dispose([xVar, gammaVar, betaVar, target, profile.result, lossAfterTensor]);
  optimizer.dispose();
  check(
    `training step: no tensor leaked (${backend})`,
    tf.memory().numTensors === before,
    `${tf.memory().numTensors - before} left`,
  );
  return results;
}

/**
 * The package registers its kernels at import for every backend it has kernels
 * for, whether that backend is loaded yet or not: `tf.getKernel` answers for
 * cpu, webgl and webgpu right after the import, in either import order.
 */
export function checkKernelsRegistered(tf, lib, label) {
  const {results, check} = collector(label);
  for (const backend of ['cpu', 'webgl', 'webgpu']) {
    const loaded = tf.findBackendFactory(backend) != null;
    check(
      `tf.getKernel answers for ${backend} at import (${backend} backend ${
        loaded ? 'loaded' : 'not loaded'
      })`,
      tf.getKernel(lib.InstanceNorm, backend) != null &&
        tf.getKernel(lib.InstanceNormGrad, backend) != null,
    );
  }
  return results;
}

/** The backends the package has kernels for. */
const PACKAGE_BACKENDS = ['cpu', 'webgl', 'webgpu', 'wasm'];

/**
 * An entry registers the kernels of its own backend only
 * (`tfjs-instance-norm/webgl`: 'webgl'); the root entry (`own` null) of every
 * backend the package has kernels for. Checked through `lib.hasFusedKernels`
 * and tf.getKernel.
 */
export function checkEntryRegistration(tf, lib, label, own) {
  const {results, check} = collector(label);
  for (const backend of PACKAGE_BACKENDS) {
    const want = own == null || backend === own;
    const got =
      tf.getKernel(lib.InstanceNorm, backend) != null &&
      tf.getKernel(lib.InstanceNormGrad, backend) != null;
    check(
      `${want ? 'registers' : 'does not register'} the ${backend} kernels`,
      got === want && lib.hasFusedKernels(backend) === want,
      `registered ${got}, hasFusedKernels ${lib.hasFusedKernels(backend)}`,
    );
  }
  return results;
}

/**
 * Two entries imported by one app share the API: the same functions and
 * layer classes, each class registered for serialization once (the one the
 * app gets from either entry).
 */
export function checkEntriesShared(tf, first, second, label) {
  const {results, check} = collector(label);
  const names = Object.keys(first).sort();
  check(
    'two entries export the same names and objects',
    names.length > 0 &&
      names.join() === Object.keys(second).sort().join() &&
      names.every(name => first[name] === second[name]),
    `${names.length} / ${Object.keys(second).length} names`,
  );
  const registered =
    tf.serialization.SerializationMap.getMap().classNameMap.InstanceNormalization?.[0];
  check(
    'the InstanceNormalization class registered is the one both entries export',
    registered != null && registered === first.InstanceNormalization,
  );
  return results;
}
