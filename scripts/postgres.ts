/**
 * A throwaway local PostgreSQL: `initdb` into a folder of ours, then the `postgres` server itself as
 * our child process on a loopback port, with its unix socket in that folder too, so it never
 * touches a system cluster and dies with us. PostgreSQL refuses to run as root: as root (CI, a
 * container) both run as the `postgres` user (spawned with its uid and gid, like `runuser -u
 * postgres`, but with the server as our direct child, so signals reach it), and the folders are
 * handed to that user.
 * Loopback only, with `trust` authentication: a development and test aid, not a deployment.
 *
 *   const pg = await startLocalPostgres({ dataDir: '/tmp/x/pg', port: 55432 });
 *   await pg.createDatabase('shop');          // idempotent
 *   pg.url('shop')                           // postgres://desk@127.0.0.1:55432/shop
 *   await pg.restart();  await pg.stop();
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The superuser initdb creates; any name works, this one says whose it is. */
export const LOCAL_PG_USER = 'desk';

export interface LocalPostgresOptions {
  /** The cluster's data folder; created with initdb when it has no PG_VERSION file. */
  dataDir: string;
  port: number;
  /** Progress lines. Default: none. */
  log?: (line: string) => void;
  /** Trade durability for speed (fsync off): for tests, never for data you keep. */
  ephemeral?: boolean;
}

export interface LocalPostgres {
  readonly port: number;
  readonly dataDir: string;
  url(database: string): string;
  /** CREATE DATABASE unless it exists. */
  createDatabase(name: string): Promise<void>;
  /** Fast shutdown (SIGINT: open transactions roll back), then the same server again. */
  restart(): Promise<void>;
  /** The server process id, for tests that want to kill it harder. */
  pid(): number | undefined;
  stop(): Promise<void>;
}

/** PostgreSQL's programs: PG_BIN, else Debian's newest /usr/lib/postgresql/<n>/bin, else PATH. */
export function postgresBinDir(): string | undefined {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  if (fs.existsSync(root)) {
    const versions = fs
      .readdirSync(root)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions)
      if (fs.existsSync(path.join(root, v, 'bin', 'postgres'))) return path.join(root, v, 'bin');
  }
  const found = spawnSync('sh', ['-c', 'command -v pg_ctl'], { encoding: 'utf8' }).stdout.trim();
  return found ? path.dirname(found) : undefined;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** As root: the `postgres` user's uid and gid, to run PostgreSQL's programs as; otherwise ourselves. */
function postgresIdentity(): { uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new Error(
      'running as root, and there is no `postgres` user to run PostgreSQL as (apt-get install postgresql creates it)',
    );
  }
}

export async function startLocalPostgres(opts: LocalPostgresOptions): Promise<LocalPostgres> {
  const bin = postgresBinDir();
  if (!bin)
    throw new Error('PostgreSQL is not installed: apt-get install postgresql (or set PG_BIN to its bin folder)');
  const log = opts.log ?? (() => undefined);
  const dataDir = path.resolve(opts.dataDir);
  const socketDir = path.join(path.dirname(dataDir), 'pg-socket');
  const identity = postgresIdentity();
  // HOME and a readable working folder: PostgreSQL's programs may look at both.
  const spawnOpts = { ...identity, cwd: path.dirname(dataDir), env: { ...process.env, HOME: path.dirname(dataDir) } };

  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  fs.mkdirSync(socketDir, { recursive: true });
  if (identity) {
    // The postgres user must own its folders and reach them through every parent.
    for (const d of [dataDir, socketDir]) {
      fs.mkdirSync(d, { recursive: true });
      fs.chownSync(d, identity.uid, identity.gid);
    }
    fs.chmodSync(path.dirname(dataDir), 0o755);
    fs.chmodSync(dataDir, 0o700);
    const blocked = spawnSync('test', ['-w', dataDir], { ...identity }).status !== 0;
    if (blocked)
      throw new Error(
        `the postgres user cannot reach ${dataDir}: a parent folder is not searchable by others (chmod o+x it)`,
      );
  }
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log(`initdb ${dataDir}`);
    execFileSync(
      path.join(bin, 'initdb'),
      [
        '-D',
        dataDir,
        '-U',
        LOCAL_PG_USER,
        '--auth=trust',
        '-E',
        'UTF8',
        '--locale=C',
        ...(opts.ephemeral ? ['--no-sync'] : []),
      ],
      { ...spawnOpts, stdio: 'pipe' },
    );
  }

  let child: ChildProcess | undefined;
  let output = '';
  const args = [
    '-D',
    dataDir,
    '-p',
    String(opts.port),
    '-k',
    socketDir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'max_connections=200',
    '-c',
    'log_min_messages=warning',
    ...(opts.ephemeral ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
  ];

  // A throwaway server must not outlive us, even when we die without calling stop().
  const killOnExit = () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
  };

  async function start(): Promise<void> {
    output = '';
    process.on('exit', killOnExit);
    const proc = spawn(path.join(bin!, 'postgres'), args, { ...spawnOpts, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`postgres exited at start:\n${output}`);
      const ready = spawnSync(
        path.join(bin!, 'pg_isready'),
        ['-h', '127.0.0.1', '-p', String(opts.port), '-U', LOCAL_PG_USER, '-d', 'postgres'],
        { stdio: 'ignore' },
      );
      if (ready.status === 0) break;
      if (Date.now() > deadline)
        throw new Error(`postgres did not accept connections on port ${opts.port} within 60 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 150));
    }
    log(`postgres ready on 127.0.0.1:${opts.port} (pid ${proc.pid})`);
  }

  async function stopServer(): Promise<void> {
    process.off('exit', killOnExit);
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    // SIGINT: fast shutdown (open transactions roll back, then a clean checkpoint).
    proc.kill('SIGINT');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }

  try {
    await start();
  } catch (err) {
    await stopServer();
    throw err;
  }
  const url = (database: string) => `postgres://${LOCAL_PG_USER}@127.0.0.1:${opts.port}/${database}`;
  return {
    port: opts.port,
    dataDir,
    url,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: url('postgres') });
      await client.connect();
      try {
        const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
        if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
    },
    async restart() {
      await stopServer();
      await start();
    },
    pid: () => child?.pid,
    stop: stopServer,
  };
}
