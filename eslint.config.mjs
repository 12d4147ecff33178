// The workflow boundary, checked by a tool instead of memory: code under workflows/ runs in
// Temporal's deterministic sandbox, so it may not value-import Node built-ins, the model client,
// worker or activity packages, or anything from activities/. Type imports are fine. agents/ and
// contract/ are shared by both sides and loaded into the sandbox too, so the same rule holds there.
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]);

export default tseslint.config(
  { ignores: ['node_modules/**', '.temporal/**', '.data/**', 'coverage/**', 'dist/**'] },
  {
    files: ['**/*.ts', '**/*.tsx'],
    // Type-aware: no-floating-promises needs the types. A promise nobody awaits or handles is a
    // lost error in a worker, and in workflow code a step that silently never happened.
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  {
    files: ['workflows/**/*.ts', 'agents/**/*.ts', 'contract/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins,
            'openai',
            '@temporalio/activity',
            '@temporalio/worker',
            '@temporalio/client',
            'better-sqlite3',
          ].map((name) => ({
            name,
            message:
              'workflows/, agents/ and contract/ run in the deterministic sandbox: side effects belong in activities/.',
            allowTypeImports: true,
          })),
          patterns: [
            {
              group: [
                '**/activities',
                '**/activities/**',
                '**/config/**',
                '**/client/**',
                '**/worker/**',
                'openai/*',
                '@temporalio/worker/*',
                '@temporalio/activity/*',
              ],
              message: 'workflows/ may only type-import activity code: `import type ... from "../activities"`.',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
);
