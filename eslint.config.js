import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import { importX, createNodeResolver } from 'eslint-plugin-import-x';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      '.swarmml/',
      'test-output/',
      'web/dist/',
      '**/*.mjs',
      '**/*.cjs',
      'bin/',
      'eslint.config.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read env only in config.ts files (parsed once).',
        },
      ],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // errors.js imports nothing, so worker threads that only need error types load
              // it alone instead of ioredis and bullmq behind index.js.
              group: ['**/shared/*/**', '**/shared/!(index|errors).js'],
              message: 'Import shared only through shared/index.js (or dependency-free errors.js).',
            },
          ],
        },
      ],
    },
  },
  {
    // A cycle among the project's modules makes one of them run against a half-initialised
    // other (undefined exports, TDZ errors) depending on which is imported first.
    // test/shared/module-boundaries.test.ts walks the same graph; this reports it in the editor.
    files: ['services/**/*.ts', 'shared/**/*.ts', 'cli/**/*.ts', 'web/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // Sources import './x.js' and the file on disk is x.ts (nodenext resolution).
      'import-x/resolver-next': [createNodeResolver({ extensionAlias: { '.js': ['.ts', '.js'] } })],
      // Without these the rule reads no .ts file it resolves to, and finds nothing.
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    // main.ts hands process.env to its config.ts once; nothing else reads it.
    files: ['**/config.ts', '**/main.ts', 'test/**', 'scripts/**', 'cli/**'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['shared/**', 'test/**', 'scripts/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // The CLI and tests render and assert on untyped JSON from the API.
    files: ['test/**', 'cli/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-non-null-assertion': 'off',
      // supertest and fetch bodies are `any` by design; the assertions check their shape.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
  prettier,
);
