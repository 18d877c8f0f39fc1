// AssemblyScript: the InstanceNorm and InstanceNormGrad kernels of the wasm
// backend, compiled to a WebAssembly module with 128-bit SIMD
// (scripts/build_wasm.mjs). The module imports the backend's memory and owns
// none of it: no data segments, no static heap, no state. Every pointer is a
// byte offset in that memory: tensors the backend allocated, and one scratch
// block the caller allocates with the backend's allocator (scratchBytes) and
// describes (setup) before each call (scratch.ts).
//
// x is seen as [N, S, C] (channelsLast) or [N, C, S] (channelsFirst). Work is
// done per unit: an instance (channelsLast) or an (instance, group)
// (channelsFirst), so a unit's data is read again while it is still in cache.
// The files, by pass:
//
//   forward.ts           the forward: statistics, Chan's merge, pass 2
//   gradient.ts          the gradient: sums, coefficients, pass 2
//   channel_sums.ts      pass 1 of both: sums of each channel in f32x4 blocks
//   affine_pass.ts       the affine elementwise pass (linear forward, dx)
//   activated_passes.ts  the elementwise passes of the other activations
//   activated_forward.ts, activated_sums.ts   their loops
//   walk.ts              the walk of an elementwise pass over a unit
//   vector_activations.ts, vector_math.ts     the activations in f32x4
//   activations.ts       activation codes and the float64 derivative
//   scratch.ts, rows.ts  the scratch block and its rows (rows.ts generated
//                        from kernels/wasm/scratch_rows.ts)
//   lanes.ts             element and lane helpers
//
// Numerics: sums are taken in f32x4 lanes over blocks of at most 8 terms per
// lane and merged in float64, around a pivot; what float32 cannot hold is
// summed again in float64, so the results keep the accuracy of the float64
// loops of kernels/float64.

export {setup, scratchBytes} from './scratch';
export {forward} from './forward';
export {gradient} from './gradient';
