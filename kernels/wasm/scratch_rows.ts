/**
 * The rows of the SIMD module's scratch block, in the terms of the pass model
 * (kernels/common/passes.ts): per channel of a call, C entries a row, the
 * float64 rows first, then the float32 rows. scripts/build_wasm.mjs writes
 * them into kernels/wasm/assembly/rows.ts, the module's constants.
 *
 * Here the elementwise passes take x relative to the mean (a float32 pair,
 * `mean` + `meanLow`), so `shift` is beta. `pivot` is what the channel sums
 * are taken around: the channel's first element in the forward, the saved
 * float32 mean in the gradient.
 */
import {rowLayout} from '../common/passes';

/** float64 rows: the sums of each channel and the terms made from them. */
export const FLOAT64_ROWS = rowLayout([
  // The forward's channel mean before its group's merge; the gradient's mean.
  'mean',
  'sumD',
  // The sum of squares around the pivot, then (forward) around the channel mean.
  'sumSquares',
  'sumDz',
  'sumDzD',
  'scale',
  'shift',
  // Accumulated over the instances for a `[C]` parameter.
  'dgamma',
  'dbeta',
]);

/** float32 rows: the terms the vector passes read. */
export const FLOAT32_ROWS = rowLayout([
  'pivot',
  'mean',
  'meanLow',
  'scale',
  'shift',
  'slope',
  'intercept',
]);
