/**
 * WGSL of the fold passes: one workgroup per group (looping if there are
 * more groups than workgroups) and, per instance, loops over the partials of
 * the group's (chunk, channel) entries and over the group's channels.
 */
import type {ReduceLayout} from './reduce_snippet';

/**
 * For a table of rows (`{name: index, ..., count}`), the WGSL of element
 * (n, channel) of a named row of the coefficients `[N, rows.count, C]`.
 */
export function coefficientsOf<Rows extends {count: number}>(
  rows: Rows,
): (row: Exclude<keyof Rows, 'count'>) => string {
  return row => `coefficients[(n * ${rows.count} + ${rows[row]}) * uniforms.channels + channel]`;
}

/** Every lane of a fold workgroup is a member of its one slot. */
export function foldReduce(lanes: number): ReduceLayout {
  return {workgroupSize: lanes, members: lanes, memberStride: 1, slotStride: 0};
}

/**
 * `compute` over (group, n) with `body` in scope of `lane`, `group`, `n`;
 * `entries(fieldCount, loop)` and `channels(loop)` build the two inner loops:
 * the first with `split`, `channel` and `at` (the partial of field 0) in
 * scope, the second with `channel`.
 */
export function foldMain(lanes: number, body: string): string {
  return `
    const LANES = ${lanes};

    fn splitPixels(split : i32) -> f32 {
      return f32(min(uniforms.chunk, uniforms.spatial - split * uniforms.chunk));
    }

    fn compute(lane : i32, workgroup : i32, workgroups : i32) {
      for (var group = workgroup; group < uniforms.groups; group += workgroups) {
        for (var n = 0; n < uniforms.batch; n++) {
          ${body}
        }
      }
    }
  `;
}

export function overEntries(fieldCount: number, loop: string): string {
  return `
    for (var entry = lane; entry < uniforms.splits * uniforms.groupChannels; entry += LANES) {
      let split = entry / uniforms.groupChannels;
      let channel = group * uniforms.groupChannels + entry % uniforms.groupChannels;
      let at = ((n * uniforms.splits + split) * ${fieldCount}) * uniforms.channels + channel;
      ${loop}
    }
  `;
}

export function overChannels(loop: string): string {
  return `
    for (var member = lane; member < uniforms.groupChannels; member += LANES) {
      let channel = group * uniforms.groupChannels + member;
      ${loop}
    }
  `;
}
