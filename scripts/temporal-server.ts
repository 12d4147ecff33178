/**
 * The self-hosted Temporal server (the same program as the `temporalio/server` image) and its
 * schema tool (`temporal-sql-tool`, as in `temporalio/admin-tools`), built once from the Go module
 * pinned in scripts/temporal-versions.json (`server`) into the git-ignored
 * `.temporal/server-<version>/`, keyed by version like the CLI, with the PostgreSQL schema files
 * copied out of the Go module cache next to them. `npm install` does not build it (about 4 minutes
 * of compiling on 2 cores, needed only for cluster mode); `npm run cluster` and
 * `npm run test:cluster` build it on first use, printing progress, and reuse it afterwards.
 *
 *   TEMPORAL_SERVER_DIR=/path   use an install made elsewhere (bin/temporal-server, bin/temporal-sql-tool, schema/)
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import pins from './temporal-versions.json';
import { PROJECT_DIR } from './temporal-binaries';

export const TEMPORAL_SERVER_VERSION: string = pins.server.version;

export interface TemporalServerInstall {
  version: string;
  dir: string;
  server: string;
  sqlTool: string;
  /** schema/postgresql/v12, with temporal/versioned and visibility/versioned inside. */
  schemaDir: string;
}

const STAMP = 'installed.json';

export function temporalServerDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TEMPORAL_SERVER_DIR || path.join(PROJECT_DIR, '.temporal', `server-${TEMPORAL_SERVER_VERSION}`);
}

function layout(dir: string): TemporalServerInstall {
  return {
    version: TEMPORAL_SERVER_VERSION,
    dir,
    server: path.join(dir, 'bin', 'temporal-server'),
    sqlTool: path.join(dir, 'bin', 'temporal-sql-tool'),
    schemaDir: path.join(dir, 'schema', 'postgresql', 'v12'),
  };
}

/** The install if it is complete (stamp, both binaries, the schema folders), else undefined. */
export function findTemporalServer(env: NodeJS.ProcessEnv = process.env): TemporalServerInstall | undefined {
  const install = layout(temporalServerDir(env));
  const complete =
    (env.TEMPORAL_SERVER_DIR || fs.existsSync(path.join(install.dir, STAMP))) &&
    [install.server, install.sqlTool].every((f) => {
      try {
        fs.accessSync(f, fs.constants.X_OK);
        return true;
      } catch {
        return false;
      }
    }) &&
    fs.existsSync(path.join(install.schemaDir, 'temporal', 'versioned')) &&
    fs.existsSync(path.join(install.schemaDir, 'visibility', 'versioned'));
  return complete ? install : undefined;
}

/** The server and schema tool, built now if missing. Throws with advice if Go is missing or the build fails. */
export async function ensureTemporalServer(log: (line: string) => void = console.log): Promise<TemporalServerInstall> {
  const found = findTemporalServer();
  if (found) return found;
  if (process.env.TEMPORAL_SERVER_DIR) {
    throw new Error(
      `TEMPORAL_SERVER_DIR=${process.env.TEMPORAL_SERVER_DIR} has no bin/temporal-server, bin/temporal-sql-tool and schema/postgresql/v12`,
    );
  }
  const dir = temporalServerDir();
  const install = layout(dir);
  const { goModule, version, goToolchain, packages, schema } = pins.server;
  const env = { ...process.env, GOTOOLCHAIN: goToolchain, GOFLAGS: '-mod=mod' };
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      'building the Temporal server needs Go (apt-get install golang-go, or https://go.dev/dl); or set TEMPORAL_SERVER_DIR',
    );
  }

  const staging = path.join(path.dirname(dir), `.server-${version}-building-${process.pid}`);
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(path.join(staging, 'gobin'), { recursive: true });
  const targets = Object.values(packages).map((pkg) => `${goModule}/${pkg}@v${version}`);
  log(
    `[temporal-server] building Temporal server ${version} once (go install ${targets.join(' ')}, GOTOOLCHAIN=${goToolchain}); about 4 minutes on 2 cores...`,
  );
  const t0 = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn('go', ['install', ...targets], {
      env: { ...env, GOBIN: path.join(staging, 'gobin') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (d: Buffer) => {
      output += d.toString();
      if (output.length > 20_000) output = output.slice(-20_000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const progress = setInterval(
      () => log(`[temporal-server] still building (${Math.round((Date.now() - t0) / 1000)} s)...`),
      30_000,
    );
    child.once('error', (err) => {
      clearInterval(progress);
      reject(err);
    });
    child.once('exit', (code) => {
      clearInterval(progress);
      if (code === 0) resolve();
      else reject(new Error(`go install failed (exit ${code}):\n${output.split('\n').slice(-30).join('\n')}`));
    });
  });

  // The binaries are named after their package folders (server, sql); give them their product names.
  fs.mkdirSync(path.join(staging, 'bin'));
  for (const [name, pkg] of Object.entries(packages)) {
    fs.renameSync(path.join(staging, 'gobin', path.basename(pkg)), path.join(staging, 'bin', name));
  }
  fs.rmSync(path.join(staging, 'gobin'), { recursive: true });
  // The schema files ship inside the module; copy them out of the (read-only) module cache.
  const modcache = execFileSync('go', ['env', 'GOMODCACHE'], { env, encoding: 'utf8' }).trim();
  const source = path.join(modcache, `${goModule}@v${version}`, schema);
  fs.cpSync(source, path.join(staging, schema), { recursive: true });
  execFileSync('chmod', ['-R', 'u+w', path.join(staging, 'schema')]);
  const seconds = Math.round((Date.now() - t0) / 1000);
  fs.writeFileSync(
    path.join(staging, STAMP),
    `${JSON.stringify({ goModule, version, goToolchain, builtAt: new Date().toISOString(), seconds }, null, 2)}\n`,
  );
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(staging, dir);
  log(`[temporal-server] built Temporal server ${version} into ${path.relative(PROJECT_DIR, dir)} in ${seconds} s`);
  return install;
}

/** `tsx scripts/temporal-server.ts`: build (or check) the install and print where it is. */
if (require.main === module) {
  ensureTemporalServer()
    .then((i) => console.log(`[temporal-server] ${i.version}: ${i.server}`))
    .catch((err: unknown) => {
      console.error(`[temporal-server] ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    });
}
