// The walk of an elementwise pass over a unit's channels. A pass is a view
// of the scratch block (a subclass of Scratch) with two methods, inlined
// into the walk:
//
//   vectors(c, quad, offset, step, count)  `count` whole vectors `step` bytes
//       apart from byte `offset` of its operands: channel c in every lane, or
//       channels c..c + 3 (`quad`)
//   rest(c, offset, step, count)  `count` elements of channel c `step` bytes
//       apart: a row's last 0-3, or a block's pixels of a channel past the
//       last quad

/**
 * Channels [c0, c1) of instance n. Channels first: each channel's row, as
 * whole vectors then the rest. Channels last: blocks of `blockPixels` pixels
 * (in cache across the channel loop), four channels a vector, then the
 * channels past the last quad.
 */
@inline
export function walkUnit<P>(pass: P, n: i32, c0: i32, c1: i32, blockPixels: i32): void {
  const spatial = pass.spatial;
  if (!pass.channelsLast) {
    const vectors = spatial & ~3;
    for (let c = c0; c < c1; c++) {
      const offset = pass.offset(n, 0, c);
      pass.vectors(c, false, offset, 16, vectors >> 2);
      if (vectors < spatial) pass.rest(c, offset + ((<usize>vectors) << 2), 4, spatial - vectors);
    }
    return;
  }
  const channels = pass.channels;
  const quads = channels & ~3;
  const stride = (<usize>channels) << 2;
  for (let s0 = 0; s0 < spatial; s0 += blockPixels) {
    const pixels = min(blockPixels, spatial - s0);
    const offset = pass.offset(n, s0, 0);
    for (let c = 0; c < quads; c += 4) pass.vectors(c, true, offset + ((<usize>c) << 2), stride, pixels);
    for (let c = quads; c < channels; c++) pass.rest(c, offset + ((<usize>c) << 2), stride, pixels);
  }
}
