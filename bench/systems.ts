/**
 * The two systems the benchmark compares, behind one small interface: the in-process loop
 * (bench/in-process-desk.ts) and the desk itself (a dev server started by scripts/dev-server.ts
 * with a given dynamic config, a worker in this process from worker/worker.ts, the client helpers
 * of client/). A conversation is started untimed; only `send` (one customer message, one turn) is
 * timed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';

import { createActivities, type DeskActivities } from '../activities';
import { createModelStep, createOpenAIClient } from '../activities/model';
import { createToolRunner } from '../activities/tools';
import { queryTranscriptSource } from '../activities/transcripts';
import { sendMessage, startConversation, type ConversationHandle } from '../client/conversations';
import { freePort, startDevServer, type DevServer, type DynamicConfigValue } from '../scripts/dev-server';
import { createDeskWorker } from '../worker/worker';
import { endSignal, stateQuery, type ExecutionMode } from '../workflows/messages';
import { turnBreakdown, type TurnBreakdown } from './breakdown';
import { InProcessConversation, type InProcessActivities } from './in-process-desk';
import type { BenchShop } from './scenarios';

export interface TurnResult {
  agent: string;
  text: string;
  modelSteps: number;
}

export interface BenchConversation {
  id: string;
  send(text: string): Promise<TurnResult>;
}

export interface BenchSystem {
  /** `in-process`, `desk (stock)`, `desk (tuned)` ... */
  name: string;
  /** Started and ready for its first message (untimed). */
  startConversation(opts?: { workflowTaskTimeoutMs?: number }): Promise<BenchConversation>;
}

export const CUSTOMER = 'alice';

/**
 * What both systems run: the real model step and tools, on the benchmark shop, against the stub.
 * The in-process loop calls the model step on its transcript directly; the desk's worker gets the
 * activities as a worker registers them (the model step assembling its transcript from its cache,
 * or from the conversation through `client`).
 */
export function benchActivities(
  shop: BenchShop,
  modelBaseURL: string,
): { inProcess: InProcessActivities; desk: (client: Client) => DeskActivities } {
  const openai = createOpenAIClient({ apiKey: 'bench', baseURL: modelBaseURL, timeoutMs: 60_000 });
  // Not streamed (the stub answers in one JSON body): the benchmark measures orchestration, as
  // it did before answers streamed, so its numbers stay comparable.
  const { callModel } = createModelStep({ openai, model: 'bench-stub', stream: false });
  const { runTool } = createToolRunner(shop.store);
  return {
    inProcess: { callModel, runTool },
    desk: (client) =>
      createActivities({
        openai,
        model: 'bench-stub',
        stream: false,
        store: shop.store,
        transcripts: queryTranscriptSource(client),
      }),
  };
}

export function inProcessSystem(activities: InProcessActivities): BenchSystem {
  let n = 0;
  return {
    name: 'in-process',
    startConversation: async () => {
      const conv = new InProcessConversation(activities, `inproc-${++n}`, CUSTOMER);
      return { id: conv.id, send: (text) => conv.send(text) };
    },
  };
}

export interface DeskSystem extends BenchSystem {
  server: DevServer;
  client: Client;
  /** History of one conversation's current run, as the server counts it: events and bytes. */
  historySize(workflowId: string): Promise<{ runId: string; events: number; bytes: number }>;
  /** Where the last turn of a conversation spent its time, from its history. */
  breakdown(workflowId: string): Promise<TurnBreakdown | undefined>;
  /**
   * Stop the worker and start a fresh one (an empty cache, a new sticky queue), running this many
   * workflow tasks at once instead of the system's own count.
   */
  restartWorker(workflowTaskSlots?: number): Promise<void>;
  /** End the conversations started so far (outside timed sections). */
  endAll(): Promise<number>;
  close(): Promise<void>;
}

export interface DeskOptions {
  label: string;
  dynamicConfig: Readonly<Record<string, DynamicConfigValue>>;
  sqlitePragmas: Readonly<Record<string, string>>;
  /** The worker's activities, given a client of this desk's server. */
  activities: (client: Client) => DeskActivities;
  workflowBundle: WorkflowBundleWithSourceMap;
  log: (line: string) => void;
  /** Where the conversations' model steps and tool calls run (`activities` when absent). */
  execution?: ExecutionMode;
  /** Workflow tasks the worker runs at once (createDeskWorker's `workflowTaskSlots`; its default when absent). */
  workflowTaskSlots?: number;
}

export async function startDeskSystem(opts: DeskOptions): Promise<DeskSystem> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'desk-bench-temporal-'));
  const address = `127.0.0.1:${await freePort()}`;
  const server = await startDevServer({
    address,
    dbFile: path.join(dir, 'temporal.db'),
    headless: true,
    dynamicConfig: opts.dynamicConfig,
    sqlitePragmas: opts.sqlitePragmas,
    log: opts.log,
  });
  const taskQueue = 'desk-bench';
  const nativeConnection = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const createWorker = (workflowTaskSlots: number | undefined) =>
    createDeskWorker({
      connection: nativeConnection,
      activities: opts.activities(client),
      taskQueue,
      workflowTaskSlots,
      // One bundle for every server the run starts; workflowsPath and workflowBundle exclude each other.
      overrides: { workflowsPath: undefined, workflowBundle: opts.workflowBundle },
    });
  let worker: Worker;
  try {
    worker = await createWorker(opts.workflowTaskSlots);
  } catch (err) {
    await connection.close();
    await nativeConnection.close();
    await server.stop();
    throw err;
  }
  let running = worker.run();
  let open: ConversationHandle[] = [];

  return {
    name: opts.label,
    server,
    client,
    async startConversation(start = {}) {
      const input = { customerId: CUSTOMER, ...(opts.execution && { execution: opts.execution }) };
      const handle = await startConversation(client, input, { taskQueue, ...start });
      open.push(handle);
      // A query is answered once the worker has run the first workflow task: the conversation is
      // then waiting for a message, as a customer's conversation between two messages is.
      await handle.query(stateQuery);
      return {
        id: handle.workflowId,
        send: async (text) => {
          const reply = await sendMessage(handle, text);
          return {
            agent: reply.agent,
            text: reply.text,
            modelSteps: reply.events.filter((e) => e.type === 'model_step').length,
          };
        },
      };
    },
    async historySize(workflowId) {
      const d = await client.workflow.getHandle(workflowId).describe();
      let bytes = d.historySize;
      if (bytes === undefined) {
        const history = await client.workflow.getHandle(workflowId, d.runId).fetchHistory();
        bytes = temporal.api.history.v1.History.encode(history).finish().length;
      }
      return { runId: d.runId, events: d.historyLength, bytes };
    },
    async breakdown(workflowId) {
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      return turnBreakdown(history.events ?? []);
    },
    async endAll() {
      const handles = open;
      open = [];
      for (let i = 0; i < handles.length; i += 50) {
        await Promise.all(handles.slice(i, i + 50).map((h) => h.signal(endSignal).catch(() => undefined)));
      }
      return handles.length;
    },
    async restartWorker(workflowTaskSlots) {
      worker.shutdown();
      await running.catch(() => undefined);
      worker = await createWorker(workflowTaskSlots ?? opts.workflowTaskSlots);
      running = worker.run();
    },
    async close() {
      worker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
      await nativeConnection.close();
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
