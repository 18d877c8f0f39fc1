// Bundles bench/plan_sweep.ts once per plan variant into DIR (default
// bench/out/sweep), each with its source edits applied by an esbuild plugin:
//   node bench/plan_sweep.mjs [DIR] [variant,...]
// then on the machine to measure, for each variant:
//   VARIANT=name DAWN_NODE=/path/dawn.node node DIR/plan-sweep-name.mjs --gpu
import fs from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';

const BIND_GROUP_GUARD = 'if (resources.some(resource => resource?.buffer == null)) {';

/** Per variant, per file of kernels/webgpu: [text, replacement] pairs. */
const VARIANTS = {
  main: {},
  // Every shape past one pass takes the fused pass (0b5f529's plan).
  alwaysFused: {'plan.ts': [['const MAX_SPLIT_CUT = 4;', 'const MAX_SPLIT_CUT = Infinity;']]},
  // Three passes everywhere (5ae0d3d's plan).
  threePasses: {'budget.ts': [['fusedPass: true,', 'fusedPass: false,']]},
  // A new bind group for every dispatch.
  noBindGroupCache: {'dispatch.ts': [[BIND_GROUP_GUARD, 'if (resources.length > 0) {']]},
  // The gradient never in one pass (a reduction and the fused pass instead).
  noOnePassGrad: {
    'plan.ts': [['ONE_PASS_GRAD_MAX_ELEMENTS = 32768;', 'ONE_PASS_GRAD_MAX_ELEMENTS = 0;']],
  },
  // The one-pass gradient however sparse its reads (0a104c7's plan).
  sparseOnePassGrad: {
    'plan.ts': [['ONE_PASS_GRAD_MAX_SPARSE = 8192;', 'ONE_PASS_GRAD_MAX_SPARSE = Infinity;']],
  },
  // A group norm's gradient (per-channel partials) in three passes, S capped for the fold.
  groupGradThreePasses: {
    'plan.ts': [['PER_CHANNEL_GROUPS_FUSED = true;', 'PER_CHANNEL_GROUPS_FUSED = false;']],
  },
  // No wider reduction workgroups where the fused pass caps the splits.
  narrowCappedReduction: {
    'plan.ts': [['CAPPED_REDUCTION_LANES = 256;', 'CAPPED_REDUCTION_LANES = 64;']],
  },
};

const out = process.argv[2] ?? 'bench/out/sweep';
const chosen = process.argv[3]?.split(',') ?? Object.keys(VARIANTS);
fs.mkdirSync(out, {recursive: true});
for (const name of chosen) {
  const edits = VARIANTS[name];
  if (!edits) throw new Error(`no variant ${name}; the variants: ${Object.keys(VARIANTS)}`);
  const plugin = {
    name: 'plan-variant',
    setup(build) {
      build.onLoad({filter: /kernels[/\\]webgpu[/\\][a-z_]+\.ts$/}, args => {
        let text = fs.readFileSync(args.path, 'utf8');
        for (const [from, to] of edits[path.basename(args.path)] ?? []) {
          if (!text.includes(from)) throw new Error(`${name}: no "${from}" in ${args.path}`);
          text = text.replace(from, to);
        }
        return {contents: text, loader: 'ts'};
      });
    },
  };
  await esbuild.build({
    entryPoints: ['bench/plan_sweep.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    minify: true,
    outfile: path.join(out, `plan-sweep-${name}.mjs`),
    plugins: [plugin],
    external: ['*.node'],
    banner: {
      js: "import {createRequire} from 'node:module'; const require = createRequire(import.meta.url);",
    },
    logLevel: 'error',
  });
}
console.log(`built ${chosen.map(name => `plan-sweep-${name}.mjs`).join(', ')} in ${out}`);
