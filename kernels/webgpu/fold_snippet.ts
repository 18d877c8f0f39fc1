/**
 * WGSL of the fold passes: one workgroup per group, or per (n, group)
 * (looping if there are more than workgroups) and, per instance, loops over
 * the partials of the group's (chunk, column) entries and over the group's
 * channels.
 */
import {partialsSnippet} from './program_kinds';
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
 * {@link overEntries} and {@link overChannels} build its inner loops. A
 * workgroup takes a group and loops over the instances in order (a fold that
 * sums over them), or, `perInstance`, one (n, group) (a fold per instance:
 * N times the workgroups).
 */
export function foldMain(lanes: number, body: string, perInstance = false): string {
  const loops = perInstance
    ? `for (var pair = workgroup; pair < uniforms.batch * uniforms.groups; pair += workgroups) {
        let group = pair % uniforms.groups;
        let n = pair / uniforms.groups;
        ${body}
      }`
    : `for (var group = workgroup; group < uniforms.groups; group += workgroups) {
        for (var n = 0; n < uniforms.batch; n++) {
          ${body}
        }
      }`;
  return `
    const LANES = ${lanes};

    ${partialsSnippet()}

    fn compute(lane : i32, workgroup : i32, workgroups : i32) {
      ${loops}
    }
  `;
}

/**
 * A loop of the fold's lanes over the group's (chunk, column) partials, with
 * `split`, `column` (a channel, or the group where the partials are per
 * group) and `at` (the partial of field 0) in scope of `loop`.
 */
export function overEntries(fieldCount: number, loop: string): string {
  return `
    for (var entry = lane; entry < uniforms.splits * uniforms.partialsPerGroup; entry += LANES) {
      let split = entry / uniforms.partialsPerGroup;
      let column = group * uniforms.partialsPerGroup + entry % uniforms.partialsPerGroup;
      let at = partialAt(n, split, ${fieldCount}, column);
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
