// ESLint: typescript-eslint's recommended rules, unused code as errors, and a line length.
// Prettier formats (npm run format); ESLint checks what a formatter cannot (npm run lint runs both).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Node's globals, for the .mjs scripts (TypeScript itself checks names in .ts files).
const nodeGlobals = Object.fromEntries(
  [
    'process',
    'console',
    'Buffer',
    'URL',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'queueMicrotask',
    'performance',
    'TextDecoder',
    'TextEncoder',
    'WebAssembly',
    'SharedArrayBuffer',
    'Atomics',
    'structuredClone',
    'AbortController',
    'AbortSignal',
    'fetch',
    'globalThis',
  ].map((name) => [name, 'readonly']),
);

// The demo pages and the page-side callbacks of the browser bench run in a browser.
const browserGlobals = Object.fromEntries(
  ['window', 'document', 'crossOriginIsolated', 'navigator', 'location', 'Worker', 'Blob'].map((name) => [
    name,
    'readonly',
  ]),
);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/kernels/*-wasm.ts', 'bench/results/**', 'out/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mjs', '**/*.js'],
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: nodeGlobals },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // Comments count; long strings, template literals, URLs and regexes (which cannot be wrapped) do not.
      'max-len': [
        'error',
        {
          code: 120,
          ignoreUrls: true,
          ignoreStrings: true,
          ignoreTemplateLiterals: true,
          ignoreRegExpLiterals: true,
          ignoreComments: false,
        },
      ],
      // Off: every control character in a regex here is deliberate, stripping or refusing terminal escapes in
      // untrusted text (sweep job and result checks) and matching them in terminal output (live lines, tests).
      'no-control-regex': 'off',
      // A closure over an object literal's methods needs the outer `this` under one conventional name.
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['self'] }],
    },
  },
  { files: ['demo/**/*.js', 'scripts/bench-browser.mjs'], languageOptions: { globals: browserGlobals } },
);
