/**
 * Where the Temporal binaries come from (see DESIGN.md, "Where things come from").
 *
 * Resolution order, for the CLI (dev server) and the time-skipping test server alike:
 *   1. the env var TEMPORAL_CLI_PATH / TEMPORAL_TEST_SERVER_PATH (an error if set but not executable);
 *   2. the project-local install made by `npm install` (scripts/install-temporal.mjs): .temporal/bin/...;
 *   3. a binary on PATH (`temporal`, `temporal-test-server`);
 *   4. undefined: the caller lets @temporalio/testing download one (needs internet access).
 *
 * The pinned versions live in scripts/temporal-versions.json, shared with the installer.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { EphemeralServerExecutable } from '@temporalio/testing';
import pins from './temporal-versions.json';

/** The project root (this file lives in <root>/scripts). */
export const PROJECT_DIR = path.resolve(__dirname, '..');

/** Pinned versions installed into .temporal/bin by scripts/install-temporal.mjs. */
export const TEMPORAL_CLI_VERSION: string = pins.cli.version;
export const TEMPORAL_TEST_SERVER_VERSION: string = pins.testServer.version;
export const TEMPORAL_VERSIONS = {
  cli: { pypi: pins.cli.pypi, version: pins.cli.version },
  testServer: { pypi: pins.testServer.pypi, version: pins.testServer.version },
} as const;

/** Overridable inputs, for tests; defaults are the real process environment and project folder. */
export interface ResolveOptions {
  env?: NodeJS.ProcessEnv;
  /** The project root whose `.temporal/bin` holds the local install. */
  projectDir?: string;
}

const EXE = process.platform === 'win32' ? '.exe' : '';

function isExecutableFile(p: string): boolean {
  try {
    if (!fs.statSync(p).isFile()) return false;
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name + EXE);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

function resolveBinary(envVar: string, name: string, opts: ResolveOptions): string | undefined {
  const env = opts.env ?? process.env;
  const fromEnv = env[envVar];
  if (fromEnv) {
    const abs = path.resolve(fromEnv);
    if (!isExecutableFile(abs)) {
      throw new Error(
        `${envVar} is set to ${JSON.stringify(fromEnv)}, which is not an executable file. ` +
          `Point it at a ${name} binary, or unset it to use the project's own (installed by \`npm install\` into .temporal/bin).`,
      );
    }
    return abs;
  }
  const local = path.join(opts.projectDir ?? PROJECT_DIR, '.temporal', 'bin', name + EXE);
  if (isExecutableFile(local)) return local;
  return findOnPath(name, env);
}

/** The Temporal CLI (`temporal server start-dev`), or undefined if none is available. */
export function resolveTemporalCli(opts: ResolveOptions = {}): string | undefined {
  return resolveBinary('TEMPORAL_CLI_PATH', 'temporal', opts);
}

/** The time-skipping test server, or undefined if none is available. */
export function resolveTestServer(opts: ResolveOptions = {}): string | undefined {
  return resolveBinary('TEMPORAL_TEST_SERVER_PATH', 'temporal-test-server', opts);
}

/**
 * For `TestWorkflowEnvironment.createTimeSkipping({ server: { executable: testServerOption() } })`:
 * the resolved test server, else the SDK's own download.
 */
export function testServerOption(opts: ResolveOptions = {}): EphemeralServerExecutable {
  const p = resolveTestServer(opts);
  return p ? { type: 'existing-path', path: p } : { type: 'cached-download' };
}

/**
 * For `TestWorkflowEnvironment.createLocal({ server: { executable: devServerExecutable() } })`:
 * the resolved Temporal CLI, else the SDK's own download.
 */
export function devServerExecutable(opts: ResolveOptions = {}): EphemeralServerExecutable {
  const p = resolveTemporalCli(opts);
  return p ? { type: 'existing-path', path: p } : { type: 'cached-download' };
}
