// `npm run lint`: ESLint (flat config) with typescript-eslint over the whole
// tree, then `npm run format:check` (Prettier). Formatting itself is left to
// Prettier: no stylistic rules here.
import {readFileSync} from 'node:fs';
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * The private and protected members of tfjs' MathBackendWebGL, read from the
 * installed declarations, so the list follows the tfjs version in use.
 */
function nonPublicMembers(declarations) {
  const text = readFileSync(new URL(declarations, import.meta.url), 'utf8');
  const found = text.matchAll(/^\s*(?:private|protected)\s+(?:static\s+)?(?:readonly\s+)?(\w+)/gm);
  return [...new Set([...found].map(match => match[1]))];
}
const webglPrivate = nonPublicMembers(
  './node_modules/@tensorflow/tfjs-backend-webgl/dist/backend_webgl.d.ts',
).join('|');

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'docs/api/',
      'node_modules/',
      '.tmp/',
      'bench/out/',
      // AssemblyScript (its own types and decorators), compiled by scripts/build_wasm.mjs.
      'kernels/wasm/assembly/',
      'demo/out/',
      'test/artifacts/',
      '**/*.min.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // `_name` marks an argument a signature needs but the body does not.
      '@typescript-eslint/no-unused-vars': [
        'error',
        {argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none'},
      ],
    },
  },
  {
    // The package itself: browser and Node alike, so no environment globals.
    files: ['src/**/*.ts', 'kernels/**/*.ts'],
    rules: {
      // The backend packages are not dependencies of the package, not even peers:
      // it may name their types but must not load them (the build checks its
      // output too). A kernel gets its backend from its arguments.
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@tensorflow/tfjs-backend-*', '@tensorflow/tfjs'],
              allowTypeImports: true,
              message:
                'Backend packages are not dependencies of the package: use `import type`, or ' +
                'get the backend from the kernel function arguments.',
            },
            {
              group: ['@tensorflow/*/dist/*', '@tensorflow/*/src/*'],
              // Types vanish at build time; only value imports would bundle code.
              allowTypeImports: true,
              message:
                'Deep imports of tfjs files bundle a second copy of tfjs code and cannot map ' +
                'to the global tf of the script-tag build.',
            },
          ],
        },
      ],
    },
  },
  {
    // The webgl kernels use only MathBackendWebGL's public API: no member it declares private or protected (tsc misses backend['x'] and casts).
    files: ['kernels/webgl/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: `MemberExpression[computed=false] > Identifier.property[name=/^(${webglPrivate})$/]`,
          message: 'A non-public member of MathBackendWebGL: use its public API.',
        },
        {
          selector: `MemberExpression[computed=true] > Literal.property[value=/^(${webglPrivate})$/]`,
          message: 'A non-public member of MathBackendWebGL: use its public API.',
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    languageOptions: {globals: {...globals.browser, ...globals.jasmine}},
    rules: {
      // Test code asserts presence after checking it with expect().
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['test/consumer/**', 'test/e2e/**', 'bench/**', 'demo/**'],
    languageOptions: {globals: {...globals.browser, ...globals.node, GPUDevice: 'readonly'}},
  },
  {
    files: ['scripts/**', '*.js', '*.cjs', '*.mjs', 'test/node/**'],
    languageOptions: {globals: {...globals.node}},
  },
  {
    // `import x = require(...)` is how a CommonJS TypeScript consumer imports.
    files: ['test/consumer/apps/*.cts'],
    rules: {'@typescript-eslint/no-require-imports': 'off'},
  },
  {
    files: ['**/*.cjs', 'karma.conf.js'],
    languageOptions: {sourceType: 'commonjs'},
    rules: {'@typescript-eslint/no-require-imports': 'off'},
  },
);
