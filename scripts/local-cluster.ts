/**
 * A self-hosted Temporal cluster on this machine, the production shape in miniature: a local
 * PostgreSQL (scripts/postgres.ts) holding Temporal's persistence (`temporal`), its visibility
 * (`temporal_visibility`) and the desk's shop (`shop`), and the real Temporal server
 * (scripts/temporal-server.ts) on it, its config rendered from
 * deploy/temporal/server-config.template.yaml. The schema steps are the compose file's
 * `temporal-schema` commands, run with the same schema tool and version; the namespace and the
 * desk's search attributes are registered as compose's `temporal-setup` does.
 *
 *   const cluster = await startLocalCluster({ dir: '.data/cluster' });
 *   cluster.address      // 127.0.0.1:7233: TEMPORAL_ADDRESS for workers and the client
 *   cluster.shopUrl      // SHOP_DATABASE_URL for workers
 *   await cluster.restartTemporal(); await cluster.restartPostgres(); await cluster.stop();
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';

import { ensureSearchAttributes, freePort, isTemporalServerAt } from './dev-server';
import { LOCAL_PG_USER, startLocalPostgres, type LocalPostgres } from './postgres';
import { PROJECT_DIR } from './temporal-binaries';
import { ensureTemporalServer, type TemporalServerInstall } from './temporal-server';

const execFileAsync = promisify(execFile);

export const CLUSTER_TEMPLATE = path.join(PROJECT_DIR, 'deploy', 'temporal', 'server-config.template.yaml');
/** The dynamic config docker-compose.yml mounts into its `temporal` service: one file for both. */
export const CLUSTER_DYNAMIC_CONFIG = path.join(
  PROJECT_DIR,
  'deploy',
  'temporal',
  'dynamicconfig',
  'development-sql.yaml',
);
export const DEFAULT_CLUSTER_DIR = path.join(PROJECT_DIR, '.data', 'cluster');
/** Temporal's own port layout (frontend 7233 …), and PostgreSQL next to, not on, the system's 5432. */
export const DEFAULT_CLUSTER_PORTS = {
  postgres: 55432,
  frontend: 7233,
  frontendHttp: 7243,
  history: 7234,
  matching: 7235,
  worker: 7239,
  frontendMembership: 6933,
  historyMembership: 6934,
  matchingMembership: 6935,
  workerMembership: 6939,
} as const;
export type ClusterPorts = Record<keyof typeof DEFAULT_CLUSTER_PORTS, number>;
/** The databases on the cluster's PostgreSQL: the same names as in docker-compose.yml. */
export const CLUSTER_DATABASES = { temporal: 'temporal', visibility: 'temporal_visibility', shop: 'shop' } as const;

export interface LocalClusterOptions {
  /** Where PostgreSQL's data, the rendered config and the server log live. Default .data/cluster. */
  dir?: string;
  /** Ports; 'free' picks free ones (tests). Default DEFAULT_CLUSTER_PORTS. */
  ports?: Partial<ClusterPorts> | 'free';
  namespace?: string;
  log?: (line: string) => void;
  /** Faster, non-durable PostgreSQL (fsync off): tests only. */
  ephemeral?: boolean;
  /** Called when the Temporal server exits without stop() or a restart asking for it. */
  onUnexpectedExit?: (what: string) => void;
}

export interface LocalCluster {
  /** host:port of the Temporal frontend. */
  address: string;
  namespace: string;
  /** SHOP_DATABASE_URL for the desk's workers. */
  shopUrl: string;
  postgres: LocalPostgres;
  server: TemporalServerInstall;
  ports: ClusterPorts;
  /** The Temporal server's log file. */
  serverLog: string;
  /** Stops the Temporal server (SIGKILL: a crash, or SIGTERM: a clean stop), starts it again, waits until it serves. */
  restartTemporal(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** Fast shutdown of PostgreSQL and start again on the same data and port. */
  restartPostgres(): Promise<void>;
  stop(): Promise<void>;
}

/** Renders `{{NAME}}` placeholders; an unknown or missing name is an error, not an empty string. */
export function renderTemplate(template: string, values: Record<string, string | number>): string {
  const out = template.replace(/\{\{(\w+)\}\}/g, (_m, name: string) => {
    if (!(name in values))
      throw new Error(`the server config template uses {{${name}}}, which the launcher does not set`);
    return String(values[name]);
  });
  return out;
}

/** What the launcher fills into the server config template. */
export function clusterConfigValues(ports: ClusterPorts): Record<string, string | number> {
  return {
    LOG_LEVEL: 'warn',
    PG_PORT: ports.postgres,
    PG_USER: LOCAL_PG_USER,
    FRONTEND_PORT: ports.frontend,
    FRONTEND_HTTP_PORT: ports.frontendHttp,
    FRONTEND_MEMBERSHIP_PORT: ports.frontendMembership,
    HISTORY_PORT: ports.history,
    HISTORY_MEMBERSHIP_PORT: ports.historyMembership,
    MATCHING_PORT: ports.matching,
    MATCHING_MEMBERSHIP_PORT: ports.matchingMembership,
    WORKER_PORT: ports.worker,
    WORKER_MEMBERSHIP_PORT: ports.workerMembership,
    DYNAMIC_CONFIG_FILE: CLUSTER_DYNAMIC_CONFIG,
  };
}

export async function startLocalCluster(opts: LocalClusterOptions = {}): Promise<LocalCluster> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const dir = path.resolve(opts.dir ?? DEFAULT_CLUSTER_DIR);
  const namespace = opts.namespace ?? 'default';
  const ports: ClusterPorts = { ...DEFAULT_CLUSTER_PORTS };
  if (opts.ports === 'free') {
    // freePort's ports are below 32768, as Temporal's membership ports must be (a smallint column).
    for (const k of Object.keys(ports) as (keyof ClusterPorts)[]) ports[k] = await freePort();
  } else Object.assign(ports, opts.ports);
  const address = `127.0.0.1:${ports.frontend}`;
  if (await isTemporalServerAt(address, 2000)) {
    throw new Error(
      `a Temporal server already answers at ${address} (the dev server from \`npm start\`?): stop it, or choose other ports`,
    );
  }

  const server = await ensureTemporalServer(log);
  fs.mkdirSync(path.join(dir, 'temporal'), { recursive: true });

  // 1. PostgreSQL.
  const postgres = await startLocalPostgres({
    dataDir: path.join(dir, 'postgres'),
    port: ports.postgres,
    log: (l) => log(`[postgres] ${l}`),
    ephemeral: opts.ephemeral,
  });
  let temporal: ChildProcess | undefined;
  const stopAll = async () => {
    await stopTemporal('SIGTERM');
    await postgres.stop();
  };
  try {
    // 2. Temporal's schemas, exactly as compose's temporal-schema service does it.
    const sql = (database: string, ...args: string[]) =>
      execFileAsync(
        server.sqlTool,
        [
          '--plugin',
          'postgres12',
          '--ep',
          '127.0.0.1',
          '-p',
          String(ports.postgres),
          '-u',
          LOCAL_PG_USER,
          '--db',
          database,
          ...args,
        ],
        {
          env: { ...process.env, SQL_PASSWORD: '' },
        },
      ).catch((err: Error & { stderr?: string }) => {
        throw new Error(`temporal-sql-tool --db ${database} ${args.join(' ')} failed: ${err.stderr || err.message}`);
      });
    for (const [database, folder] of [
      [CLUSTER_DATABASES.temporal, 'temporal'],
      [CLUSTER_DATABASES.visibility, 'visibility'],
    ] as const) {
      await sql(database, 'create');
      await sql(database, 'setup-schema', '-v', '0.0');
      await sql(database, 'update-schema', '-d', path.join(server.schemaDir, folder, 'versioned'));
    }
    await sql(CLUSTER_DATABASES.shop, 'create');
    log(`[postgres] databases ${Object.values(CLUSTER_DATABASES).join(', ')} ready; Temporal schemas up to date`);

    // 3. The server's config, from the template in the repo.
    const config = renderTemplate(fs.readFileSync(CLUSTER_TEMPLATE, 'utf8'), clusterConfigValues(ports));
    fs.writeFileSync(path.join(dir, 'temporal', 'config.yaml'), config);
  } catch (err) {
    await stopAll();
    throw err;
  }

  const serverLog = path.join(dir, 'temporal', 'server.log');
  let expectedExit = false;

  async function startTemporal(): Promise<void> {
    const logFd = fs.openSync(serverLog, 'a');
    const child = spawn(
      server.server,
      ['--config-file', path.join(dir, 'temporal', 'config.yaml'), '--allow-no-auth', 'start'],
      {
        cwd: dir,
        stdio: ['ignore', logFd, logFd],
      },
    );
    fs.closeSync(logFd);
    temporal = child;
    expectedExit = false;
    child.once('exit', (code, signal) => {
      if (!expectedExit) {
        log(`[temporal] the server exited unexpectedly (${signal ?? `exit code ${code}`}); see ${serverLog}`);
        opts.onUnexpectedExit?.('temporal');
      }
    });
    const t0 = Date.now();
    while (!(await isTemporalServerAt(address, 2000))) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`the Temporal server exited at start; last lines of ${serverLog}:\n${tailOf(serverLog)}`);
      }
      if (Date.now() - t0 > 90_000)
        throw new Error(`the Temporal server did not answer at ${address} within 90 s; see ${serverLog}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    log(
      `[temporal] server ${server.version} serving at ${address} (pid ${child.pid}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    );
  }

  async function stopTemporal(signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    const child = temporal;
    temporal = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    expectedExit = true;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }

  // Never leave the server or PostgreSQL behind if this process dies.
  const killOnExit = () => {
    temporal?.kill('SIGKILL');
    const pid = postgres.pid();
    if (pid) {
      try {
        process.kill(pid, 'SIGINT');
      } catch {
        /* already gone */
      }
    }
  };
  process.on('exit', killOnExit);

  try {
    await startTemporal();
    // 4. The namespace and the desk's search attributes (compose: temporal-setup).
    const connection = await Connection.connect({ address });
    try {
      await ensureNamespace(connection, namespace, log);
      await ensureSearchAttributes(connection, namespace, { log: (l) => log(l), timeoutMs: 60_000 });
    } finally {
      await connection.close();
    }
  } catch (err) {
    process.off('exit', killOnExit);
    await stopAll();
    throw err;
  }

  return {
    address,
    namespace,
    shopUrl: postgres.url(CLUSTER_DATABASES.shop),
    postgres,
    server,
    ports,
    serverLog,
    async restartTemporal(signal = 'SIGKILL') {
      await stopTemporal(signal);
      await startTemporal();
    },
    restartPostgres: () => postgres.restart(),
    async stop() {
      process.off('exit', killOnExit);
      await stopAll();
    },
  };
}

/** Registers the namespace unless it exists, then waits until the frontend knows it. */
async function ensureNamespace(connection: Connection, namespace: string, log: (line: string) => void): Promise<void> {
  const describe = () =>
    connection.workflowService.describeNamespace({ namespace }).then(
      () => true,
      () => false,
    );
  if (await describe()) return;
  log(`[temporal] registering namespace ${namespace} (retention 3 days)`);
  try {
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs('3 days'),
    });
  } catch (err) {
    if (!/already exists/i.test(String(err))) throw err;
  }
  const deadline = Date.now() + 60_000;
  while (!(await describe())) {
    if (Date.now() > deadline) throw new Error(`namespace ${namespace} was registered but does not appear`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function tailOf(file: string, lines = 15): string {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .slice(-lines)
      .map((l) => l.slice(0, 400))
      .join('\n');
  } catch {
    return '(no log)';
  }
}
