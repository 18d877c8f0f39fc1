/**
 * The pass model (kernels/common/passes.ts): its row layouts, and that every
 * backend's coefficient rows are built from its terms.
 */
import {
  FORWARD_TERMS,
  GRADIENT_TERMS,
  pairedRowLayout,
  rowLayout,
  STATISTICS,
  SUM_TERMS,
} from '../kernels/common/passes';
import {FORWARD_ROWS, GRAD_ROWS} from '../kernels/webgl/plan';
import {INPUT_GRAD_ROWS} from '../kernels/webgpu/param_grad_program';
import {NORMALIZE_ROWS} from '../kernels/webgpu/statistics_program';

const TERMS = new Set<string>([...STATISTICS, ...FORWARD_TERMS, ...GRADIENT_TERMS, ...SUM_TERMS]);

describe('pass model', () => {
  it('numbers the rows in order, skipping unused ones, and counts them all', () => {
    expect(rowLayout(['scale', null, 'shift'])).toEqual({scale: 0, shift: 2, count: 3});
    expect(
      pairedRowLayout([
        ['mean', 'invStd'],
        ['pivot', null],
      ]),
    ).toEqual({
      mean: 0,
      invStd: 1,
      pivot: 2,
      count: 4,
    });
  });

  it('rejects a term that appears twice', () => {
    expect(() => rowLayout(['scale', 'scale'])).toThrowError(/'scale' appears twice/);
  });

  it('is where every backend layout takes its row names from', () => {
    for (const layout of [FORWARD_ROWS, GRAD_ROWS, NORMALIZE_ROWS, INPUT_GRAD_ROWS]) {
      const {count, ...rows} = layout;
      for (const name of Object.keys(rows)) expect(TERMS).toContain(name);
      const indices = Object.values(rows) as number[];
      expect(new Set(indices).size).toBe(indices.length);
      expect(Math.max(...indices)).toBeLessThan(count);
    }
  });
});
