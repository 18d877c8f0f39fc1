/**
 * The planning of the webgl kernels (kernels/webgl/plan.ts, device_class.ts):
 * numbers only, checked without drawing anything, plus the device class read
 * from the context.
 */
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

import {InstanceNorm, InstanceNormGrad} from '../src/kernel_names';
import {instanceNormLayout, kernelGroups, normGeometry, threeDShape} from '../src/geometry';
import type {NormGeometry} from '../src/geometry';
import {kernelAttributes} from '../kernels/common/attributes';
import {
  chooseChunking,
  FORWARD_ROWS,
  GRAD_ROWS,
  partialsShape,
  squaresScale,
  view,
  View,
} from '../kernels/webgl/plan';
import {DeviceClass, PLAN_FLAG} from '../kernels/common/device_class';
import {deviceClassOf} from '../kernels/webgl/device_class';

import {DataFormat, selectedEnvs, tf} from './setup';

interface Planned extends View {
  geometry: NormGeometry;
}

/** The view of x for one family, with its geometry. */
function planned(shape: number[], format: DataFormat, packed: boolean, groups?: number): Planned {
  const geometry = normGeometry(shape, format, groups, InstanceNorm);
  return {...view(shape, geometry, packed, 2), geometry};
}

function chunkingOf(seen: Planned, deviceClass: DeviceClass) {
  return chooseChunking(seen.geometry, seen, deviceClass);
}

const SHAPES: Array<[number[], DataFormat]> = [
  [[2, 5, 7, 3], 'channelsLast'],
  [[2, 3, 301], 'channelsFirst'],
  [[1, 3, 41, 23], 'channelsFirst'],
  [[1, 2, 3, 9, 7], 'channelsFirst'],
  [[8, 64, 64, 32], 'channelsLast'],
  [[2, 64, 64, 320], 'channelsLast'],
  [[4, 512, 512, 32], 'channelsLast'],
  [[1, 1, 1, 4], 'channelsLast'],
];

describe('webgl planning', () => {
  it('views unpacked x as its 3-D shape, packed x as [lead, rows, columns]', () => {
    const layout = instanceNormLayout([2, 5, 7, 3], 'channelsLast');
    expect(planned([2, 5, 7, 3], 'channelsLast', false).viewShape).toEqual(threeDShape(layout));
    expect(planned([2, 5, 7, 3], 'channelsLast', true).viewShape).toEqual([10, 7, 3]);
    expect(planned([1, 2, 3, 9, 7], 'channelsFirst', true).viewShape).toEqual([6, 9, 7]);
  });

  it('puts the channel on the texel axis each layout gives it', () => {
    const columns = planned([2, 5, 7, 3], 'channelsLast', true);
    expect(columns.channelAxis).toBe('columns');
    expect([columns.units, columns.unitPixels, columns.unitsPerLine]).toEqual([20, 2, 4]);
    expect(columns.oddLine).toBe(true);
    const rows = planned([2, 3, 301], 'channelsFirst', true);
    expect(rows.channelAxis).toBe('rows');
    expect([rows.units, rows.unitsPerLine]).toEqual([151, 151]);
    const texel = planned([1, 3, 41, 23], 'channelsFirst', true);
    expect(texel.channelAxis).toBe('texel');
    expect([texel.units, texel.unitPixels, texel.texelsPerUnit]).toEqual([21, 46, 12]);
  });

  it('counts the channels of a group', () => {
    expect(planned([2, 5, 7, 12], 'channelsLast', true, 4).geometry.channelsPerGroup).toBe(3);
    expect(planned([2, 5, 7, 12], 'channelsLast', true).geometry.channelsPerGroup).toBe(1);
  });

  it('checks groups: a positive integer dividing C, absent meaning C', () => {
    const layout = instanceNormLayout([1, 4, 4, 12], 'channelsLast');
    expect(kernelGroups(layout, undefined, 'InstanceNorm')).toBe(12);
    expect(kernelGroups(layout, 3, 'InstanceNorm')).toBe(3);
    for (const bad of [0, 5, 2.5, -3]) {
      expect(() => kernelGroups(layout, bad, 'InstanceNorm')).toThrowError(
        /InstanceNorm: .*'groups'/,
      );
    }
  });

  for (const deviceClass of ['software', 'gpu'] as DeviceClass[]) {
    it(`splits every unit into exactly one chunk — ${deviceClass}`, () => {
      for (const [shape, format] of SHAPES) {
        for (const packed of [true, false]) {
          const seen = planned(shape, format, packed);
          const {unitsPerChunk, count} = chooseChunking(seen.geometry, seen, deviceClass);
          expect(count * unitsPerChunk).toBeGreaterThanOrEqual(seen.units);
          expect((count - 1) * unitsPerChunk).toBeLessThan(seen.units);
        }
      }
    });
  }

  it('keeps the software plans: 16 chunks for 8x64x64x32, 256 for 1x256x256x16', () => {
    expect(chunkingOf(planned([8, 64, 64, 32], 'channelsLast', true), 'software').count).toBe(16);
    expect(chunkingOf(planned([1, 256, 256, 16], 'channelsLast', true), 'software').count).toBe(
      256,
    );
  });

  it('balances chunk and merge loops on a GPU', () => {
    for (const groups of [320, 32]) {
      const seen = planned([2, 64, 64, 320], 'channelsLast', true, groups);
      const {unitsPerChunk, count} = chooseChunking(seen.geometry, seen, 'gpu');
      const mergeLoop = 2 * count * seen.geometry.channelsPerGroup;
      expect(unitsPerChunk / mergeLoop).toBeGreaterThan(0.5);
      expect(unitsPerChunk / mergeLoop).toBeLessThan(2);
    }
  });

  it('scales squares by a power of two p with p^2 * pixels per chunk <= 1', () => {
    for (const [shape, format] of SHAPES) {
      for (const deviceClass of ['software', 'gpu'] as DeviceClass[]) {
        const seen = planned(shape, format, true);
        const chunking = chooseChunking(seen.geometry, seen, deviceClass);
        const scale = squaresScale(seen, chunking);
        expect(Number.isInteger(Math.log2(scale))).toBe(true);
        expect(scale * scale * chunking.unitsPerChunk * seen.unitPixels).toBeLessThanOrEqual(1);
      }
    }
  });

  it('shapes the partials one texel per (instance, channel tile, chunk)', () => {
    const seen = planned([2, 5, 7, 3], 'channelsLast', true);
    const plan = {
      geometry: seen.geometry,
      view: seen,
      chunking: {unitsPerChunk: 8, count: 3},
      attributes: kernelAttributes(
        {epsilon: 1e-3, dataFormat: 'channelsLast'},
        undefined,
        undefined,
      ),
    };
    expect(partialsShape(plan, 2)).toEqual([8, 2, 6]);
  });

  it('names distinct rows within each merge texture, in whole pairs', () => {
    for (const rows of [FORWARD_ROWS, GRAD_ROWS]) {
      const {count, ...terms} = rows;
      const indices = Object.values(terms) as number[];
      expect(new Set(indices).size).toBe(indices.length);
      expect(count % 2).toBe(0);
      for (const row of indices) expect(row).toBeLessThan(count);
    }
    expect([
      FORWARD_ROWS.scale,
      FORWARD_ROWS.shift,
      FORWARD_ROWS.mean,
      FORWARD_ROWS.invStd,
    ]).toEqual([0, 1, 4, 5]);
    expect(GRAD_ROWS.dgamma).toBe(GRAD_ROWS.dbeta + 1);
  });

  if (selectedEnvs({envs: ['webgl']}).length > 0) {
    let previous: string | undefined;
    beforeAll(async () => {
      previous = tf.getBackend();
      await tf.setBackend('webgl');
    });
    afterAll(async () => {
      tf.env().set(PLAN_FLAG, 'auto');
      if (previous) await tf.setBackend(previous);
    });

    it('reads SwiftShader as a software device, and follows the plan flag', () => {
      const backend = tf.backend() as MathBackendWebGL;
      expect(deviceClassOf(backend)).toBe('software');
      tf.env().set(PLAN_FLAG, 'gpu');
      expect(deviceClassOf(backend)).toBe('gpu');
      tf.env().set(PLAN_FLAG, 'auto');
    });

    // Draws per call, packed inputs already on the GPU: chunk pass,
    // merge, two outputs, elementwise; the same on both plans.
    for (const plan of ['software', 'gpu']) {
      it(`draws 5 programs forward and 5 for the gradient — ${plan} plan`, () => {
        tf.env().set(PLAN_FLAG, plan);
        const backend = tf.backend() as MathBackendWebGL;
        const x = tf.add(tf.ones([2, 6, 5, 4]), 1);
        const gamma = tf.add(tf.ones([4]), 1);
        const dy = tf.add(tf.ones([2, 6, 5, 4]), 2);
        const attrs = {epsilon: 1e-5, dataFormat: 'channelsLast', groups: 2};
        // A first call uploads what small ops left on the CPU (gamma).
        tf.dispose(tf.engine().runKernel(InstanceNorm, {x, gamma}, attrs) as tf.Tensor[]);
        const draws = spyOn(backend, 'runWebGLProgram').and.callThrough();
        const outputs = tf.engine().runKernel(InstanceNorm, {x, gamma}, attrs) as tf.Tensor[];
        const names = () => draws.calls.allArgs().map(args => args[0].constructor.name);
        expect(draws.calls.count()).withContext(`forward: ${names()}`).toBe(5);
        draws.calls.reset();
        const [, mean, invStd] = outputs;
        const grads = tf
          .engine()
          .runKernel(InstanceNormGrad, {dy, x, gamma, mean, invStd}, attrs) as tf.Tensor[];
        expect(draws.calls.count()).withContext(`gradient: ${names()}`).toBe(5);
        tf.dispose([...outputs, ...grads, x, gamma, dy]);
      });
    }
  }
});
