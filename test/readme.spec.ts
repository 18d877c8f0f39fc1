/**
 * Every ```js block of README.md and docs/*.md runs as written: its imports
 * of 'tfjs-instance-norm' (or an entry 'tfjs-instance-norm/<backend>') and
 * '@tensorflow/tfjs' are rewritten to the modules under test, the whole
 * package API and `tf` are in scope as a reader of the README has them, and
 * every tensor a block's top-level declarations hold must be finite; a model
 * it builds must predict finite values. A block fenced ```js no-run is shown
 * only (none is, today).
 */
import * as tfc from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as cpuBackend from '@tensorflow/tfjs-backend-cpu';
import * as wasmBackend from '@tensorflow/tfjs-backend-wasm';
import * as webglBackend from '@tensorflow/tfjs-backend-webgl';
import * as webgpuBackend from '@tensorflow/tfjs-backend-webgpu';

import * as pkg from '../src/index';
import readme from '../README.md';
import pytorch from '../docs/pytorch.md';

import {describeEachBackend, withoutKernelLeakCheck} from './setup';

/** The documents whose blocks run, by the name the spec reports. */
const DOCUMENTS: Record<string, string> = {'README.md': readme, 'docs/pytorch.md': pytorch};

/** What `@tensorflow/tfjs` is to a block: tfjs-core's ops and tfjs-layers' API. */
const TFJS: Record<string, unknown> = {...tfc, ...tfl};

/** The backend packages a block may import (test/setup.ts has loaded them). */
const BACKENDS: Record<string, unknown> = {
  '@tensorflow/tfjs-backend-cpu': cpuBackend,
  '@tensorflow/tfjs-backend-wasm': wasmBackend,
  '@tensorflow/tfjs-backend-webgl': webglBackend,
  '@tensorflow/tfjs-backend-webgpu': webgpuBackend,
};

/** The module a block's import names, or null when the spec does not provide it. */
function moduleFor(specifier: string): Record<string, unknown> | null {
  if (specifier === 'tfjs-instance-norm' || specifier.startsWith('tfjs-instance-norm/')) {
    return pkg as unknown as Record<string, unknown>;
  }
  if (specifier === '@tensorflow/tfjs' || specifier === '@tensorflow/tfjs-core') {
    return specifier === '@tensorflow/tfjs' ? TFJS : (tfc as unknown as Record<string, unknown>);
  }
  if (specifier === '@tensorflow/tfjs-layers') {
    return tfl as unknown as Record<string, unknown>;
  }
  return (BACKENDS[specifier] as Record<string, unknown> | undefined) ?? null;
}

interface Block {
  document: string;
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
}

/** The ```js blocks of a markdown text (```js no-run excluded). */
function jsBlocks(document: string, text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const fence = lines[i].match(/^```(\S*)\s*(.*)$/);
    if (fence == null || fence[1] === '') continue;
    const end = lines.findIndex((l, j) => j > i && l.startsWith('```'));
    if (fence[1] === 'js' && !fence[2].split(/\s+/).includes('no-run')) {
      blocks.push({document, line: i + 1, code: lines.slice(i + 1, end).join('\n')});
    }
    i = end;
  }
  return blocks;
}

/**
 * The block as the body of an async function: each import becomes a
 * declaration from `modules`, and the names its top-level declarations bind
 * are returned.
 */
function runnable(code: string): {body: string; imports: string[]} {
  const imports: string[] = [];
  const body = code.replace(
    /^import\s+(?:(\*\s+as\s+\w+|\{[^}]*\}|\w+)\s+from\s+)?'([^']+)';?$/gm,
    (_, binding: string | undefined, specifier: string) => {
      imports.push(specifier);
      const module = `modules[${JSON.stringify(specifier)}]`;
      if (binding == null) return '';
      if (binding.startsWith('*')) return `const ${binding.split(/\s+/).pop()} = ${module};`;
      if (binding.startsWith('{'))
        return `const ${binding.replace(/\s+as\s+/g, ': ')} = ${module};`;
      return `const ${binding} = ${module}.default;`;
    },
  );
  const names = new Set<string>();
  for (const match of body.matchAll(/^(?:const|let|var)\s+(\w+|\[[^\]]*\]|\{[^}]*\})/gm)) {
    const target = match[1];
    if (/^\w+$/.test(target)) {
      names.add(target);
    } else {
      for (const part of target.slice(1, -1).split(',')) {
        const name = part.split(':').pop()!.trim();
        if (/^\w+$/.test(name)) names.add(name);
      }
    }
  }
  return {body: `{\n${body}\nreturn {${[...names].join(', ')}};\n}`, imports};
}

type AsyncFunctionConstructor = new (...args: string[]) => (...args: unknown[]) => Promise<unknown>;
const AsyncFunction = Object.getPrototypeOf(async () => undefined)
  .constructor as AsyncFunctionConstructor;

/** The tensors in a value: a tensor, or an array of them. */
function tensorsIn(value: unknown): tfc.Tensor[] {
  if (value instanceof tfc.Tensor) return [value];
  if (Array.isArray(value)) return value.flatMap(tensorsIn);
  return [];
}

/** A model's prediction on random inputs of its input shapes (batch 1). */
function predictOnRandomInputs(model: tfl.LayersModel): tfc.Tensor[] {
  const inputs = model.inputs.map(input => {
    const shape = input.shape.map(d => d ?? 1);
    return input.dtype === 'int32' ? tfc.zeros(shape, 'int32') : tfc.randomUniform(shape);
  });
  return tensorsIn(model.predict(inputs.length === 1 ? inputs[0] : inputs));
}

const BLOCKS = Object.entries(DOCUMENTS).flatMap(([name, text]) => jsBlocks(name, text));

describeEachBackend(
  'README and docs examples',
  () => {
    it('finds the js blocks of every document', () => {
      for (const document of Object.keys(DOCUMENTS)) {
        expect(BLOCKS.some(b => b.document === document))
          .withContext(document)
          .toBe(true);
      }
    });

    for (const block of BLOCKS) {
      it(`${block.document}:${block.line} runs as written and computes finite values`, async () => {
        const {body, imports} = runnable(block.code);
        for (const specifier of imports) {
          expect(moduleFor(specifier)).withContext(`import '${specifier}'`).not.toBeNull();
        }
        const modules = Object.fromEntries(imports.map(s => [s, moduleFor(s)]));
        const scope: Record<string, unknown> = {...(pkg as object), tf: TFJS};
        const run = new AsyncFunction('modules', ...Object.keys(scope), body);
        tfc.engine().startScope();
        const models: tfl.LayersModel[] = [];
        try {
          // A block may record a gradient tape (tf.grads): see withoutKernelLeakCheck.
          const bound = (await withoutKernelLeakCheck(() =>
            run(modules, ...Object.values(scope)),
          )) as Record<string, unknown>;
          const tensors = Object.values(bound).flatMap(tensorsIn);
          for (const value of Object.values(bound)) {
            if (value instanceof tfl.LayersModel) {
              models.push(value);
              tensors.push(...predictOnRandomInputs(value));
            }
          }
          for (const tensor of tensors) {
            expect(tensor.shape.every(d => Number.isInteger(d) && d >= 0)).toBe(true);
            const values = await tensor.data();
            expect(Array.from(values).every(Number.isFinite))
              .withContext(`a tensor of shape [${tensor.shape}] holds a non-finite value`)
              .toBe(true);
          }
          expect(tensors.length)
            .withContext('tensors or models the block computes')
            .toBeGreaterThan(0);
        } finally {
          tfc.engine().endScope();
          models.forEach(m => m.dispose());
        }
      });
    }
  },
  // The blocks name no backend; cpu runs them all (tfjs-backend-wasm cannot
  // train the converted CNN's convs: no Conv2DBackpropFilter).
  {envs: ['cpu']},
);
