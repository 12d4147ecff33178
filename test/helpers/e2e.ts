/**
 * End-to-end plumbing: a private Temporal dev server (real CLI binary, SQLite file in a temp
 * folder, free ports so a developer's own server on 7233 is never touched), and desk workers run
 * as real child processes (`worker/main.ts` through tsx), so a test can SIGKILL one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { queryTranscriptSource } from '../../activities/transcripts';
import { createDeskRuntime, type DeskRuntime } from '../../worker/runtime';
import { createDeskWorker } from '../../worker/worker';
import { freePort, startDevServer, type DevServer } from '../../scripts/dev-server';
import { quietRuntime } from './temporal-env';

export const REPO = path.resolve(__dirname, '..', '..');

export interface PrivateServer {
  server: DevServer;
  address: string;
  uiPort: number;
  client: Client;
  dir: string;
  stop(): Promise<void>;
}

export async function startPrivateServer(opts: { ui?: boolean } = {}): Promise<PrivateServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'desk-e2e-'));
  const address = `127.0.0.1:${await freePort()}`;
  const uiPort = await freePort();
  const server = await startDevServer({
    address,
    uiPort,
    dbFile: path.join(dir, 'temporal.db'),
    headless: !opts.ui,
    log: () => undefined,
  });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  return {
    server,
    address,
    uiPort,
    client,
    dir,
    async stop() {
      await connection.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Registers a test file's hooks: one private dev server (startPrivateServer) for the whole file. */
export function usePrivateServer(): PrivateServer {
  const ctx = {} as PrivateServer;
  beforeAll(async () => {
    Object.assign(ctx, await startPrivateServer());
  }, 120_000);
  afterAll(async () => {
    await ctx.stop?.();
  });
  return ctx;
}

export interface WorkerProcess {
  child: ChildProcess;
  /** Everything the worker printed so far. */
  output(): string;
  /** Resolves once the worker says it is polling. */
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/** The worker processes a test can spawn: all are `npm run worker` (worker/run.ts) with a test's change. */
const WORKER_ENTRIES = {
  worker: path.join(REPO, 'worker', 'main.ts'),
  /** A fault injected around its activities (test/helpers/faults.ts). */
  'fault-worker': path.join(REPO, 'test', 'helpers', 'fault-worker.ts'),
  /** The changed desk of test/fixtures/desk-v2/agents.ts (the upgrade test). */
  'desk-v2': path.join(REPO, 'test', 'fixtures', 'desk-v2', 'worker.ts'),
} as const;

/**
 * Run `npm run worker`'s entry point as a child process with the given environment. The child is
 * the worker itself (`node --import tsx`), not the tsx CLI, which would run the worker as a
 * grandchild: a SIGKILL would then reach only the wrapper and leave the worker polling, and a
 * worker that kills itself would show as exit code 137 instead of the signal.
 */
export function spawnWorker(
  env: Record<string, string | undefined>,
  opts: { entry?: keyof typeof WORKER_ENTRIES } = {},
): WorkerProcess {
  const entry = WORKER_ENTRIES[opts.entry ?? 'worker'];
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: REPO,
    env: { ...process.env, OPENAI_API_KEY: '', OPENAI_BASE_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let markReady!: () => void;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    child.once('exit', (code, signal) =>
      reject(new Error(`worker exited before it was ready (${code ?? signal}):\n${out}`)),
    );
  });
  ready.catch(() => undefined);
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.includes('[worker] polling')) markReady();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output: () => out,
    ready,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

export interface InProcessDesk {
  server: PrivateServer;
  runtime: DeskRuntime;
  /** A client allowed to read histories above gRPC's default 4 MB, so a bloated history can be inspected. */
  bigClient: Client;
  stop(): Promise<void>;
}

/**
 * A private dev server and one desk worker in this process, on the offline model and a shop in
 * the server's folder: for e2e tests that need no worker process of their own.
 */
export async function startInProcessDesk(opts: { env?: NodeJS.ProcessEnv } = {}): Promise<InProcessDesk> {
  const server = await startPrivateServer();
  const runtime = await createDeskRuntime({
    shopDb: shopDbOf(server),
    // {}: the offline model, whatever OPENAI_* this machine has set.
    env: opts.env ?? {},
    transcripts: queryTranscriptSource(server.client),
  });
  const connection = await NativeConnection.connect({ address: server.address });
  const worker = await createDeskWorker({ connection, activities: runtime.activities });
  const running = worker.run();
  const big = await Connection.connect({
    address: server.address,
    channelArgs: { 'grpc.max_receive_message_length': 64 * 1024 * 1024 },
  });
  return {
    server,
    runtime,
    bigClient: new Client({ connection: big }),
    async stop() {
      worker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
      await big.close();
      await runtime.close();
      await server.stop();
    },
  };
}

/** The SQLite shop of an in-process desk: in the private server's folder. */
export function shopDbOf(server: PrivateServer): string {
  return path.join(server.dir, 'shop.db');
}

/** Registers a test file's hooks: one in-process desk (startInProcessDesk) for the whole file. */
export function useInProcessDesk(): InProcessDesk {
  const ctx = {} as InProcessDesk;
  beforeAll(async () => {
    quietRuntime();
    Object.assign(ctx, await startInProcessDesk());
  }, 120_000);
  afterAll(async () => {
    await ctx.stop?.();
  });
  return ctx;
}
