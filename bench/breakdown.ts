/**
 * Where a training step of the style net (training.ts) spends its time, on
 * the host and on the GPU, per component. The step is taken apart as
 * trainOnBatch runs it (Optimizer.minimize = computeGradients, then
 * applyGradients), for the net with the fused IN+ReLU layers (`block`) and
 * for the same net without norms (`none`):
 *   step         model.trainOnBatch, wall ms (it reads the loss: a sync);
 *   forward      model.apply(x, {training: true});
 *   fwdGrad      optimizer.computeGradients(MSE of the forward): forward,
 *                tape and backward;
 *   adamAll      applyGradients of every gradient (Adam, one optimizer);
 *   adamNorm     applyGradients of the norm layers' gamma and beta gradients
 *                alone (a second Adam on just those variables).
 * Per phase: host ms (the JS time to issue it, no sync inside), wall ms (the
 * same and a sync) and GPU ms (tf.time's kernelMs: the sum of the phase's
 * kernels' timestamps). One fwdGrad of each net is also run under tf.profile,
 * its kernels summed into groups by kernel name: conv (Conv2D*,
 * Conv2DBackprop*), norm (the package's kernels) and everything else.
 * `normLayerHostMs`: host ms spent inside the norm layers' call() during one
 * forward (layer bookkeeping, the op, its kernels' dispatch).
 * Derived: the norms' host and GPU ms per step are the block net's minus the
 * none net's.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

import {InstanceNorm, InstanceNormGrad} from '../src/index';
import {median, randomValues} from '../support/index';
import {
  type BreakdownResult,
  type KernelGroup,
  type NetBreakdown,
  type PhaseTiming,
  PHASES,
} from './breakdown_report';
import {countPrograms, log} from './core';
import {type NormKind, styleNet} from './training';

const NORM_KERNELS = new Set<string>([InstanceNorm, InstanceNormGrad]);
const groupOf = (name: string): KernelGroup['group'] =>
  name.startsWith('Conv2D') || name.startsWith('Conv3D')
    ? 'conv'
    : NORM_KERNELS.has(name)
      ? 'norm'
      : 'other';

async function sync(tensors: tf.Tensor[]): Promise<void> {
  const last = tensors[tensors.length - 1];
  if (!last) return;
  const probe = tf.tidy(() => tf.add(tf.slice(tf.reshape(last, [-1]), [0], [1]), 0));
  await probe.data();
  probe.dispose();
}

/** Host, wall (median of `samples`) and GPU ms (median of 3 tf.time) of a phase. */
async function timePhase(
  run: () => tf.Tensor[],
  samples: number,
  kernels: boolean,
): Promise<PhaseTiming> {
  tf.dispose(run());
  const host: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < samples; i++) {
    const start = performance.now();
    const out = run();
    host.push(performance.now() - start);
    await sync(out);
    wall.push(performance.now() - start);
    tf.dispose(out);
  }
  const timing: PhaseTiming = {hostMs: median(host), wallMs: median(wall)};
  if (kernels) {
    const gpu: number[] = [];
    for (let i = 0; i < 3; i++) {
      const info = await tf.time(() => tf.dispose(run()));
      if (typeof info.kernelMs === 'number') gpu.push(info.kernelMs);
    }
    if (gpu.length) timing.gpuMs = median(gpu);
  }
  return timing;
}

function isNormLayer(layer: tfl.layers.Layer): boolean {
  return layer.getClassName().includes('Normalization');
}

async function breakDownNet(
  kind: NormKind,
  size: number,
  samples: number,
  kernels: boolean,
): Promise<NetBreakdown> {
  const {model, norms} = styleNet(size, kind);
  const shape = [1, size, size, 3];
  const xs = tf.tensor(randomValues(size * size * 3, 5, 1, 0), shape);
  const ys = tf.tensor(randomValues(size * size * 3, 6, 1, 0), shape);
  const optimizer: tf.Optimizer = tf.train.adam(1e-3);
  const normOptimizer: tf.Optimizer = tf.train.adam(1e-3);
  const normLayers = model.layers.filter(isNormLayer);
  const normVars = new Set(
    normLayers.flatMap(l => l.trainableWeights.map(w => (w.read() as tf.Variable).name)),
  );
  const loss = () =>
    tf.losses.meanSquaredError(ys, model.apply(xs, {training: true}) as tf.Tensor) as tf.Scalar;
  const varList = model.trainableWeights.map(w => w.read() as tf.Variable);
  /** One computeGradients; the caller disposes the gradients. */
  const gradients = (): tf.NamedTensorMap => {
    const {value, grads} = optimizer.computeGradients(loss, varList);
    value.dispose();
    return grads;
  };
  const phases: NetBreakdown['phases'] = {};
  try {
    for (let i = 0; i < 2; i++) await model.trainOnBatch(xs, ys);
    // trainOnBatch: its own sync (the loss); host = wall here.
    const stepMs: number[] = [];
    for (let i = 0; i < samples; i++) {
      const start = performance.now();
      await model.trainOnBatch(xs, ys);
      stepMs.push(performance.now() - start);
    }
    phases.step = {hostMs: median(stepMs), wallMs: median(stepMs)};
    phases.forward = await timePhase(
      () => [tf.tidy(() => model.apply(xs, {training: true}) as tf.Tensor)],
      samples,
      kernels,
    );
    phases.fwdGrad = await timePhase(() => Object.values(gradients()), samples, kernels);
    // Adam on gradients computed beforehand (kept across samples: only the update is timed).
    const grads = gradients();
    const normGrads: tf.NamedTensorMap = Object.fromEntries(
      Object.entries(grads).filter(([name]) => normVars.has(name)),
    );
    const adam = (opt: tf.Optimizer, g: tf.NamedTensorMap) => () => {
      opt.applyGradients(g);
      return varList.slice(-1);
    };
    // applyGradients returns nothing to dispose: time it on the variables it wrote.
    const keep = (run: () => tf.Tensor[]) => () => run().map(t => tf.clone(t));
    phases.adamAll = await timePhase(keep(adam(optimizer, grads)), samples, kernels);
    if (Object.keys(normGrads).length) {
      const normList = Object.keys(normGrads);
      const normTouched = varList.filter(v => normList.includes(v.name));
      phases.adamNorm = await timePhase(
        keep(() => {
          normOptimizer.applyGradients(normGrads);
          return normTouched.slice(-1);
        }),
        samples,
        kernels,
      );
    }
    tf.dispose(Object.values(grads));

    // Kernels by group: one profiled fwdGrad.
    const profile = await tf.profile(() => tf.dispose(Object.values(gradients())));
    const byName = new Map<string, {name: string; count: number; ms: number}>();
    for (const k of profile.kernels.filter(k => k.name !== 'unnamed scope')) {
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : NaN;
      const entry = byName.get(k.name) ?? {name: k.name, count: 0, ms: 0};
      entry.count++;
      entry.ms += ms;
      byName.set(k.name, entry);
    }
    const list = [...byName.values()].sort((a, b) => b.ms - a.ms);
    const groups = (['conv', 'norm', 'other'] as const).map(group => {
      const members = list.filter(k => groupOf(k.name) === group);
      return {
        group,
        count: members.reduce((a, k) => a + k.count, 0),
        ms: members.reduce((a, k) => a + k.ms, 0),
      };
    });
    const gpu = tf.getBackend() === 'webgpu' || tf.getBackend() === 'webgl';
    const programs = gpu ? countPrograms(() => Object.values(gradients())) : undefined;

    // Host time inside the norm layers' call() during forwards.
    let normLayerHostMs: number | undefined;
    if (normLayers.length) {
      let inside = 0;
      const originals = normLayers.map(l => l.call);
      normLayers.forEach((l, i) => {
        l.call = function (this: tfl.layers.Layer, ...a: Parameters<tfl.layers.Layer['call']>) {
          const start = performance.now();
          try {
            return originals[i].apply(this, a);
          } finally {
            inside += performance.now() - start;
          }
        };
      });
      const per: number[] = [];
      try {
        for (let i = 0; i < samples; i++) {
          inside = 0;
          const out = tf.tidy(() => model.apply(xs, {training: true}) as tf.Tensor);
          per.push(inside);
          await sync([out]);
          out.dispose();
        }
      } finally {
        normLayers.forEach((l, i) => (l.call = originals[i]));
      }
      normLayerHostMs = median(per);
    }
    return {
      kind,
      norms,
      normVariables: normVars.size,
      phases,
      groups,
      kernels: list,
      ...(programs === undefined ? {} : {programs}),
      ...(normLayerHostMs === undefined ? {} : {normLayerHostMs}),
    };
  } finally {
    optimizer.dispose();
    normOptimizer.dispose();
    model.optimizer.dispose();
    model.dispose();
    tf.dispose([xs, ys]);
  }
}

/** The breakdown of the fused IN+ReLU style net and the no-norm net on the active backend. */
export async function benchBreakdown(
  backend: string,
  size: number,
  samples: number,
): Promise<BreakdownResult> {
  const kernels = backend === 'webgpu' || backend === 'webgl';
  const nets: NetBreakdown[] = [];
  for (const kind of ['block', 'none'] as const) {
    nets.push(await breakDownNet(kind, size, samples, kernels));
    log(`${backend} breakdown ${kind}: ${JSON.stringify(nets[nets.length - 1].phases)}`);
  }
  const [block, none] = nets;
  const normCost: BreakdownResult['normCost'] = {};
  for (const p of PHASES) {
    const a = block.phases[p];
    const b = none.phases[p];
    if (!a) continue;
    const hostMs = a.hostMs - (b?.hostMs ?? 0);
    const gpuMs = a.gpuMs === undefined ? undefined : a.gpuMs - (b?.gpuMs ?? 0);
    normCost[p] = {hostMs, ...(gpuMs === undefined ? {} : {gpuMs})};
  }
  return {backend, size, samples, nets, normCost};
}
