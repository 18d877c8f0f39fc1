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
 * {@link overEntries} and {@link overChannels} build its inner loops.
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

/**
 * A loop of the fold's lanes over the group's (chunk, channel) partials, with
 * `split`, `channel` and `at` (the partial of field 0) in scope of `loop`.
 */
export function overEntries(fieldCount: number, loop: string): string {
  return `
    for (var entry = lane; entry < uniforms.splits * uniforms.channelsPerGroup; entry += LANES) {
      let split = entry / uniforms.channelsPerGroup;
      let channel = group * uniforms.channelsPerGroup + entry % uniforms.channelsPerGroup;
      let at = ((n * uniforms.splits + split) * ${fieldCount}) * uniforms.channels + channel;
      ${loop}
    }
  `;
}

/** A loop of the fold's lanes over the group's channels, with `channel` in scope of `loop`. */
export function overChannels(loop: string): string {
  return `
    for (var member = lane; member < uniforms.channelsPerGroup; member += LANES) {
      let channel = group * uniforms.channelsPerGroup + member;
      ${loop}
    }
  `;
}
