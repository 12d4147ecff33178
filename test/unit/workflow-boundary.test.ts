/**
 * The workflow boundary is checked by a tool: eslint refuses value imports of Node built-ins,
 * the model client, worker/activity packages and activity code under workflows/, and allows type imports.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..');

/**
 * ESLint loads its flat config with a dynamic import, which jest's VM refuses: lint in a child node.
 * The files linted here do not exist, so the type-aware part of the config (which needs them in
 * the TypeScript project) is switched off; the import rule does not need types.
 */
async function lint(code: string, file = 'workflows/example.ts'): Promise<Array<string | null>> {
  const script = `
    const { ESLint } = require('eslint');
    const overrideConfig = { languageOptions: { parserOptions: { projectService: false } }, rules: { '@typescript-eslint/no-floating-promises': 'off' } };
    new ESLint({ cwd: process.cwd(), overrideConfig }).lintText(process.env.CODE, { filePath: process.env.FILE })
      .then(([r]) => process.stdout.write(JSON.stringify(r.messages.map((m) => m.ruleId))));`;
  const out = execFileSync(process.execPath, ['-e', script], {
    cwd: REPO,
    env: { ...process.env, CODE: code, FILE: file },
  });
  return JSON.parse(out.toString()) as Array<string | null>;
}

test.each([
  ["import fs from 'node:fs';\nexport const x = fs;"],
  ["import { readFileSync } from 'fs';\nexport const x = readFileSync;"],
  ["import OpenAI from 'openai';\nexport const x = OpenAI;"],
  ["import { Context } from '@temporalio/activity';\nexport const x = Context;"],
  ["import { Worker } from '@temporalio/worker';\nexport const x = Worker;"],
  ["import { createActivities } from '../activities';\nexport const x = createActivities;"],
  ["import { TOOLS } from '../activities/tools';\nexport const x = TOOLS;"],
])('workflows/ may not value-import side effects: %s', async (code) => {
  expect(await lint(code)).toContain('@typescript-eslint/no-restricted-imports');
});

test.each(['agents/example.ts', 'contract/example.ts'])(
  'the shared sandbox-safe folders are held to the same rule: %s',
  async (file) => {
    expect(await lint("import fs from 'node:fs';\nexport const x = fs;", file)).toContain(
      '@typescript-eslint/no-restricted-imports',
    );
    expect(await lint("import { TOOLS } from '../activities/tools';\nexport const x = TOOLS;", file)).toContain(
      '@typescript-eslint/no-restricted-imports',
    );
    expect(
      await lint("import { temporalSettings } from '../config/connection';\nexport const x = temporalSettings;", file),
    ).toContain('@typescript-eslint/no-restricted-imports');
  },
);

test('type imports are fine, and the same imports are fine outside workflows/', async () => {
  expect(await lint("import type { DeskActivities } from '../activities';\nexport type X = DeskActivities;")).toEqual(
    [],
  );
  expect(await lint("import fs from 'node:fs';\nexport const x = fs;", 'activities/example.ts')).toEqual([]);
});
