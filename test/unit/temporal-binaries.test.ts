import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  PROJECT_DIR,
  TEMPORAL_CLI_VERSION,
  TEMPORAL_TEST_SERVER_VERSION,
  devServerExecutable,
  resolveTemporalCli,
  resolveTestServer,
  testServerOption,
} from '../../scripts/temporal-binaries';

let tmp: string;

function fakeExecutable(dir: string, name: string, mode = 0o755): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.writeFileSync(file, '#!/bin/sh\nexit 0\n');
  fs.chmodSync(file, mode);
  return file;
}

/** A project folder with (optionally) a local install, and a PATH folder that is the only thing on PATH. */
function layout(opts: { local?: boolean; onPath?: boolean } = {}) {
  const projectDir = path.join(tmp, 'project');
  const pathDir = path.join(tmp, 'path-bin');
  fs.mkdirSync(projectDir, { recursive: true });
  fs.mkdirSync(pathDir, { recursive: true });
  const localBin = path.join(projectDir, '.temporal', 'bin');
  const local = opts.local
    ? { cli: fakeExecutable(localBin, 'temporal'), testServer: fakeExecutable(localBin, 'temporal-test-server') }
    : undefined;
  const onPath = opts.onPath
    ? { cli: fakeExecutable(pathDir, 'temporal'), testServer: fakeExecutable(pathDir, 'temporal-test-server') }
    : undefined;
  return { projectDir, env: { PATH: pathDir } as NodeJS.ProcessEnv, local, onPath };
}

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-binaries-'));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('resolution order', () => {
  test('the env var wins over the local install and PATH', () => {
    const { projectDir, env } = layout({ local: true, onPath: true });
    const cli = fakeExecutable(path.join(tmp, 'elsewhere'), 'my-temporal');
    const ts = fakeExecutable(path.join(tmp, 'elsewhere'), 'my-test-server');
    env.TEMPORAL_CLI_PATH = cli;
    env.TEMPORAL_TEST_SERVER_PATH = ts;
    expect(resolveTemporalCli({ env, projectDir })).toBe(cli);
    expect(resolveTestServer({ env, projectDir })).toBe(ts);
    expect(testServerOption({ env, projectDir })).toEqual({ type: 'existing-path', path: ts });
    expect(devServerExecutable({ env, projectDir })).toEqual({ type: 'existing-path', path: cli });
  });

  test('an env var naming a missing file is a clear error, not a silent fallback', () => {
    const { projectDir, env } = layout({ local: true });
    env.TEMPORAL_CLI_PATH = path.join(tmp, 'nope', 'temporal');
    expect(() => resolveTemporalCli({ env, projectDir })).toThrow(/TEMPORAL_CLI_PATH .*not an executable file/);
    env.TEMPORAL_TEST_SERVER_PATH = path.join(tmp, 'nope', 'temporal-test-server');
    expect(() => testServerOption({ env, projectDir })).toThrow(/TEMPORAL_TEST_SERVER_PATH .*not an executable file/);
  });

  test('an env var naming a file that is not executable, or a folder, is an error', () => {
    const { projectDir, env } = layout();
    env.TEMPORAL_CLI_PATH = fakeExecutable(path.join(tmp, 'x'), 'temporal', 0o644);
    expect(() => resolveTemporalCli({ env, projectDir })).toThrow(/not an executable file/);
    env.TEMPORAL_CLI_PATH = tmp;
    expect(() => resolveTemporalCli({ env, projectDir })).toThrow(/not an executable file/);
  });

  test('the project-local install (.temporal/bin) comes before PATH', () => {
    const { projectDir, env, local } = layout({ local: true, onPath: true });
    expect(resolveTemporalCli({ env, projectDir })).toBe(local!.cli);
    expect(resolveTestServer({ env, projectDir })).toBe(local!.testServer);
    expect(testServerOption({ env, projectDir })).toEqual({ type: 'existing-path', path: local!.testServer });
  });

  test('a binary on PATH is used when there is no local install', () => {
    const { projectDir, env, onPath } = layout({ onPath: true });
    expect(resolveTemporalCli({ env, projectDir })).toBe(onPath!.cli);
    expect(resolveTestServer({ env, projectDir })).toBe(onPath!.testServer);
  });

  test('a non-executable file on PATH or in .temporal/bin is skipped', () => {
    const { projectDir, env } = layout();
    fakeExecutable(path.join(projectDir, '.temporal', 'bin'), 'temporal', 0o644);
    fakeExecutable(env.PATH!, 'temporal', 0o644);
    expect(resolveTemporalCli({ env, projectDir })).toBeUndefined();
  });

  test('nothing found: undefined, and the SDK download as the server option', () => {
    const { projectDir, env } = layout();
    expect(resolveTemporalCli({ env, projectDir })).toBeUndefined();
    expect(resolveTestServer({ env, projectDir })).toBeUndefined();
    expect(testServerOption({ env, projectDir })).toEqual({ type: 'cached-download' });
    expect(devServerExecutable({ env, projectDir })).toEqual({ type: 'cached-download' });
  });
});

describe('the installed binaries (npm install -> scripts/install-temporal.mjs)', () => {
  const localCli = path.join(PROJECT_DIR, '.temporal', 'bin', 'temporal');
  const localTestServer = path.join(PROJECT_DIR, '.temporal', 'bin', 'temporal-test-server');
  const installed = fs.existsSync(localCli) && fs.existsSync(localTestServer);
  // Skipped (not failed) where the install was skipped on purpose, e.g. TEMPORAL_SKIP_INSTALL=1.
  const maybe = installed ? test : test.skip;

  maybe(`the CLI reports the pinned version ${TEMPORAL_CLI_VERSION}`, () => {
    const r = spawnSync(localCli, ['--version'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^temporal version ${TEMPORAL_CLI_VERSION.replace(/\./g, '\\.')} `));
  });

  maybe(`the test server runs and is the pinned ${TEMPORAL_TEST_SERVER_VERSION} (no --version flag: the stamp says)`, () => {
    const stamp = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, '.temporal', 'installed.json'), 'utf8'));
    expect(stamp.testServer.version).toBe(TEMPORAL_TEST_SERVER_VERSION);
    expect(stamp.cli.version).toBe(TEMPORAL_CLI_VERSION);
    const r = spawnSync(localTestServer, [], { encoding: 'utf8', timeout: 30_000 });
    expect(`${r.stdout}${r.stderr}`).toMatch(/Usage/);
  });
});
