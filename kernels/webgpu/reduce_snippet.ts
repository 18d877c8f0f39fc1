/** WGSL of the workgroup-memory tree reduction shared by the passes. */

/** How the lanes of a workgroup are grouped for a reduction. */
export interface ReduceLayout {
  workgroupSize: number;
  /** Lanes combined into one total. */
  members: number;
  /** Distance in lanes between two members of a slot. */
  memberStride: number;
  /** Distance in lanes between the first members of two slots. */
  slotStride: number;
}

/**
 * `fn <name>(lane, slot, memberIndex, value) -> T`: combines `value` over the
 * members of each slot with a tree in workgroup memory and returns the
 * slot's total to every lane. Call it from uniform control flow, once per
 * work item (lanes without work pass the identity). The tree is unrolled:
 * the member count is fixed per pipeline.
 */
export function treeReduceSnippet(
  layout: ReduceLayout,
  name: string,
  type: string,
  combine: string,
): string {
  const signature = `fn ${name}(lane : i32, slot : i32, memberIndex : i32, value : ${type}) -> ${type}`;
  if (layout.members === 1) return `${signature} { return value; }`;
  const scratch = `${name}Scratch`;
  const steps: string[] = [];
  for (let size = layout.members; size > 1;) {
    const upper = Math.ceil(size / 2);
    steps.push(`
      if (memberIndex < ${size - upper}) {
        ${scratch}[lane] = ${combine}(${scratch}[lane], ${scratch}[lane + ${upper * layout.memberStride}]);
      }
      workgroupBarrier();`);
    size = upper;
  }
  return `
    var<workgroup> ${scratch} : array<${type}, ${layout.workgroupSize}>;

    ${signature} {
      ${scratch}[lane] = value;
      workgroupBarrier();
      ${steps.join('\n')}
      let total = ${scratch}[slot * ${layout.slotStride}];
      // Every lane has read the total before the next item overwrites it.
      workgroupBarrier();
      return total;
    }
  `;
}
