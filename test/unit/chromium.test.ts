/**
 * Which Chromium the Web UI test gets (test/helpers/chromium.ts): DESK_CHROMIUM_PATH, then a system
 * Chromium, then the npm registry's, and a loud error when there is none. The last test unpacks and
 * runs the real npm Chromium, so that route is checked even on a machine that has a system one.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveChromium, unpackNpmChromium } from '../helpers/chromium';

let tmp: string;

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'desk-chromium-'));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function fakeExecutable(dir: string, name: string, mode = 0o755): string {
  fs.mkdirSync(path.join(tmp, dir), { recursive: true });
  const file = path.join(tmp, dir, name);
  fs.writeFileSync(file, '#!/bin/sh\nexit 0\n');
  fs.chmodSync(file, mode);
  return file;
}

/** A machine with (optionally) /usr/bin/chromium and chromium on PATH, and an npm Chromium that is a fake. */
function machine(opts: { usrBin?: boolean; onPath?: boolean; npmFails?: boolean } = {}) {
  const usrBin = opts.usrBin ? fakeExecutable('usr-bin', 'chromium') : path.join(tmp, 'usr-bin', 'chromium');
  const onPath = opts.onPath ? fakeExecutable('path-bin', 'chromium') : undefined;
  const npm = fakeExecutable('npm-cache', 'chromium');
  let npmCalls = 0;
  const npmChromium = async () => {
    npmCalls++;
    if (opts.npmFails) throw new Error("Cannot find module '@sparticuz/chromium'");
    return npm;
  };
  const env: NodeJS.ProcessEnv = { PATH: [path.join(tmp, 'empty'), path.join(tmp, 'path-bin')].join(path.delimiter) };
  return { lookup: { env, systemPaths: [usrBin], npmChromium }, usrBin, onPath, npm, npmCalls: () => npmCalls };
}

describe('resolution order', () => {
  test('DESK_CHROMIUM_PATH wins over a system Chromium and the npm one', async () => {
    const m = machine({ usrBin: true, onPath: true });
    const mine = fakeExecutable('elsewhere', 'my-chromium');
    m.lookup.env.DESK_CHROMIUM_PATH = mine;
    await expect(resolveChromium(m.lookup)).resolves.toEqual({ executablePath: mine, source: 'DESK_CHROMIUM_PATH' });
    expect(m.npmCalls()).toBe(0);
  });

  test('a DESK_CHROMIUM_PATH that names no executable is an error, not a reason to pick another browser', async () => {
    const m = machine({ usrBin: true });
    m.lookup.env.DESK_CHROMIUM_PATH = path.join(tmp, 'nowhere', 'chromium');
    await expect(resolveChromium(m.lookup)).rejects.toThrow(
      /DESK_CHROMIUM_PATH=.*nowhere\/chromium is not an executable file/,
    );
    m.lookup.env.DESK_CHROMIUM_PATH = fakeExecutable('elsewhere', 'not-executable', 0o644);
    await expect(resolveChromium(m.lookup)).rejects.toThrow(/is not an executable file/);
  });

  test('/usr/bin/chromium comes before chromium on PATH, and neither unpacks the npm one', async () => {
    const m = machine({ usrBin: true, onPath: true });
    await expect(resolveChromium(m.lookup)).resolves.toEqual({ executablePath: m.usrBin, source: 'system' });
    expect(m.npmCalls()).toBe(0);
  });

  test('chromium on PATH when there is no /usr/bin/chromium', async () => {
    const m = machine({ onPath: true });
    await expect(resolveChromium(m.lookup)).resolves.toEqual({ executablePath: m.onPath, source: 'system' });
  });

  test('the npm Chromium when the machine has none', async () => {
    const m = machine();
    await expect(resolveChromium(m.lookup)).resolves.toEqual({ executablePath: m.npm, source: 'npm' });
    expect(m.npmCalls()).toBe(1);
  });

  test('DESK_CHROMIUM_FROM_NPM=1 skips the system Chromium', async () => {
    const m = machine({ usrBin: true, onPath: true });
    m.lookup.env.DESK_CHROMIUM_FROM_NPM = '1';
    await expect(resolveChromium(m.lookup)).resolves.toEqual({ executablePath: m.npm, source: 'npm' });
  });

  test('no Chromium anywhere fails with what was tried and how to fix it', async () => {
    const m = machine({ npmFails: true });
    const err: Error = await resolveChromium(m.lookup).then(
      () => new Error('resolved'),
      (e: Error) => e,
    );
    expect(err.message).toMatch(/^No Chromium for the Web UI test/);
    expect(err.message).toContain(m.usrBin);
    expect(err.message).toContain("Cannot find module '@sparticuz/chromium'");
    expect(err.message).toContain('npm install');
    expect(err.message).toContain('DESK_SKIP_BROWSER=1');
  });
});

describe("the npm registry's Chromium", () => {
  test('unpacks once into a folder named after its version, and runs', async () => {
    const cache = path.join(tmp, 'cache');
    const binary = await unpackNpmChromium(cache);
    const version = (
      JSON.parse(
        fs.readFileSync(
          path.join(path.dirname(require.resolve('@sparticuz/chromium')), '..', '..', 'package.json'),
          'utf8',
        ),
      ) as { version: string }
    ).version;
    expect(binary).toBe(path.join(cache, version, 'chromium'));
    // Nothing half-unpacked is left beside it.
    expect(fs.readdirSync(cache)).toEqual([version]);
    expect(execFileSync(binary, ['--version'], { encoding: 'utf8' })).toMatch(/^Chromium \d+\./);
    // A second call reuses it (same file, not unpacked again).
    const inode = fs.statSync(binary).ino;
    await expect(unpackNpmChromium(cache)).resolves.toBe(binary);
    expect(fs.statSync(binary).ino).toBe(inode);
  }, 60_000);
});
