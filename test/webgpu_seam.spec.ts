/**
 * The seam to tfjs internals (kernels/webgpu/backend_seam.ts): each private
 * member of WebGPUBackend the kernels use is removed, or given another type,
 * in turn (on a view of the backend, so tfjs itself keeps working); the
 * kernels then warn once, naming the member, and compute through built-in
 * ops: the float64 reference's values, nothing leaked.
 */
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';

import {backendInternals, missingMember, PRIVATE_MEMBERS} from '../kernels/webgpu/backend_seam';
import {InstanceNorm, InstanceNormGrad} from '../src/kernel_names';

import {caseData, caseTensors, makeCase} from './cases';
import {referenceForward, referenceGradient} from './reference';
import {backendDataIds, describeEachBackend, expectClose, tf, tolerance} from './setup';

/** The backend seen with `member` replaced by `value` (undefined: removed). */
function withMember(backend: WebGPUBackend, member: string, value: unknown): WebGPUBackend {
  const view = Object.create(backend) as WebGPUBackend;
  Object.defineProperty(view, member, {value, writable: true});
  return view;
}

/** Runs a registered kernel function of this package on `backend`. */
function runOn(
  backend: WebGPUBackend,
  kernelName: string,
  inputs: tf.NamedTensorMap,
  attrs: object,
): tf.Tensor[] {
  const kernel = tf.getKernel(kernelName, 'webgpu');
  if (kernel == null) throw new Error(`${kernelName} is not registered for webgpu`);
  return kernel.kernelFunc({
    inputs,
    backend,
    attrs: attrs as tf.NamedAttrMap,
  }) as tf.Tensor[];
}

describeEachBackend(
  'webgpu seam to tfjs internals',
  () => {
    it('finds every private member on this tfjs, and the kernels take the fast path', () => {
      const backend = tf.backend() as WebGPUBackend;
      expect(missingMember(backend)).toBeNull();
      expect(backendInternals(backend)).toBe(backend as never);
    });

    const variants: Array<[string, string, unknown]> = [];
    for (const member of Object.keys(PRIVATE_MEMBERS)) {
      // activeTimers is absent outside tf.time(): only another type is a change.
      if (member !== 'activeTimers') variants.push([member, 'removed', undefined]);
      variants.push([member, 'of another type', 'renamed']);
    }
    for (const [member, how, value] of variants) {
      it(`falls back to built-in ops with '${member}' ${how}`, async () => {
        const {atol, rtol} = tolerance('webgpu');
        const c = makeCase('', [2, 5, 6, 8], 'channelsLast', {offset: 3});
        const d = caseData(c, 11);
        const groups = 4;
        const expected = referenceForward(
          d.x,
          c.shape,
          d.gamma,
          d.beta,
          c.epsilon,
          c.format,
          groups,
        );
        const expectedGrad = referenceGradient(
          d.dy,
          d.x,
          c.shape,
          d.gamma,
          c.epsilon,
          c.format,
          groups,
        );
        const inputs = caseTensors(c, d);
        const {x, dy, gamma, beta} = inputs;
        const view = withMember(tf.backend() as WebGPUBackend, member, value);
        const warn = spyOn(console, 'warn');
        const before = {tensors: tf.memory().numTensors, ids: backendDataIds()};
        const attrs = {epsilon: c.epsilon, dataFormat: c.format, groups};
        const forward = runOn(view, InstanceNorm, {x, gamma, beta} as tf.NamedTensorMap, attrs);
        const [y, mean, invStd] = forward;
        const grads = runOn(
          view,
          InstanceNormGrad,
          {dy, x, gamma, beta, mean, invStd} as tf.NamedTensorMap,
          attrs,
        );
        // One warning per backend instance, naming the member.
        expect(warn).toHaveBeenCalledTimes(1);
        expect(String(warn.calls.argsFor(0)[0])).toContain(`'${member}'`);
        expect(tf.memory().numTensors).toBe(before.tensors + 6);
        expect(backendDataIds()).toBe(before.ids + 6);
        expectClose(await y.data(), expected.y, atol, rtol, 'y');
        expectClose(await mean.data(), expected.mean, atol, rtol, 'mean');
        expectClose(await invStd.data(), expected.invStd, atol, rtol, 'invStd');
        const [dx, dgamma, dbeta] = grads;
        expectClose(await dx.data(), expectedGrad.dx, atol, rtol, 'dx');
        expectClose(await dgamma.data(), expectedGrad.dgamma, atol * 10, rtol, 'dgamma');
        expectClose(await dbeta.data(), expectedGrad.dbeta, atol * 10, rtol, 'dbeta');
        tf.dispose([...forward, ...grads]);
        expect(tf.memory().numTensors).toBe(before.tensors);
        expect(backendDataIds()).toBe(before.ids);
        tf.dispose(inputs.all);
      });
    }
  },
  {envs: ['webgpu']},
);
