/**
 * Shared set-up for the workflow tests: the time-skipping server from the project's own install
 * (scripts/temporal-binaries.ts), the workflow bundle built once per file, a temporary shop
 * database, and a worker run for the duration of one test body.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  DefaultLogger,
  Worker,
  bundleWorkflowCode,
  type WorkerOptions,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { DeskActivities } from '../../activities';
import {
  NO_TRANSCRIPT_SOURCE,
  createTranscriptResolver,
  queryTranscriptSource,
  withTranscript,
  type TranscriptCacheOptions,
} from '../../activities/transcripts';
import type { ModelStepInput, ModelStepResult } from '../../contract/transcript';
import { openShopStore, type ShopStore } from '../../activities/store';
import { createToolRunner } from '../../activities/tools';
import { interruptible } from '../../activities/interrupts';
import { testServerOption } from '../../scripts/temporal-binaries';
import { WORKFLOWS_PATH, installRuntime } from '../../worker/worker';
import {
  ABSENT_EXECUTION,
  DEFAULT_EXECUTION,
  EXECUTION_MODES,
  isExecutionMode,
  type ExecutionMode,
} from '../../workflows/messages';

let runtimeInstalled = false;
/** Keep test output to warnings and errors. */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    installRuntime('WARN');
  } catch {
    // already installed by another file in this process
  }
}

export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: testServerOption() },
    client: { interceptors: { workflow: [executionInterceptor] } },
  });
  // The time-skipping server knows no custom search attributes until told; it can add but not list them.
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: {
      CurrentAgent: INDEXED_KEYWORD,
      CustomerId: INDEXED_KEYWORD,
      HandoffCount: INDEXED_INT,
      PendingApprovals: INDEXED_INT,
    },
  });
  return env;
}

/** temporal.api.enums.v1.IndexedValueType */
const INDEXED_KEYWORD = 2;
const INDEXED_INT = 3;

export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
}

export interface TempShop {
  store: ShopStore;
  dispose(): Promise<void>;
}

export async function tempShop(): Promise<TempShop> {
  const dir = mkdtempSync(path.join(tmpdir(), 'desk-shop-'));
  const store = await openShopStore(path.join(dir, 'shop.db'));
  return {
    store,
    async dispose() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let queueSeq = 0;
/** A task queue of its own per test, so workers of different tests never share work. */
export function uniqueTaskQueue(): string {
  return `test-${process.pid}-${++queueSeq}`;
}

/**
 * The transcript cache of the test workers' model steps: on, as a worker runs it, unless
 * DESK_TEST_TRANSCRIPT_CACHE=off, which makes every step after a run's first fetch its transcript
 * from the workflow (the `history` query): `npm run test:no-cache` runs the workflow tests so.
 */
export const TRANSCRIPT_CACHE: TranscriptCacheOptions =
  process.env.DESK_TEST_TRANSCRIPT_CACHE === 'off' ? { maxChars: 0 } : {};

/**
 * Where the test conversations run their model steps and tool calls: DEFAULT_EXECUTION unless
 * DESK_TEST_EXECUTION names another mode (`npm run test:local` and `test:local-tools` run the
 * workflow tests in the other modes). Set on every start input that does not choose one itself.
 */
export const TEST_EXECUTION: ExecutionMode = (() => {
  const mode = process.env.DESK_TEST_EXECUTION ?? DEFAULT_EXECUTION;
  if (!isExecutionMode(mode))
    throw new Error(`DESK_TEST_EXECUTION must be one of ${EXECUTION_MODES.join(', ')}, got ${mode}`);
  return mode;
})();

const executionInterceptor: WorkflowClientInterceptor = {
  start(input, next) {
    const [first, ...rest] = input.options.args;
    const plain = typeof first === 'object' && first !== null && !Array.isArray(first) && 'customerId' in first;
    if (!plain || 'execution' in first || TEST_EXECUTION === ABSENT_EXECUTION) return next(input);
    return next({ ...input, options: { ...input.options, args: [{ ...first, execution: TEST_EXECUTION }, ...rest] } });
  },
};

export async function runWithWorker<T>(
  env: TestWorkflowEnvironment,
  opts: {
    bundle: WorkflowBundleWithSourceMap;
    taskQueue: string;
    /** The model step on the assembled transcript (a scripted model); the test worker resolves the transcript as a real one does. */
    callModel: (input: ModelStepInput) => Promise<ModelStepResult>;
    store: ShopStore;
    runTool?: DeskActivities['runTool'];
    overrides?: Partial<WorkerOptions>;
  },
  body: () => Promise<T>,
): Promise<T> {
  const runTool = opts.runTool ?? createToolRunner(opts.store).runTool;
  const resolver = createTranscriptResolver(queryTranscriptSource(env.client), TRANSCRIPT_CACHE);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: opts.taskQueue,
    workflowBundle: opts.bundle,
    activities: {
      callModel: withTranscript(opts.callModel, resolver),
      callModelLocal: interruptible(
        withTranscript(opts.callModel, createTranscriptResolver(NO_TRANSCRIPT_SOURCE, TRANSCRIPT_CACHE)),
        opts.store.interrupts,
      ),
      runTool,
    },
    ...opts.overrides,
  });
  return worker.runUntil(body());
}

export interface WorkflowTestContext {
  env: TestWorkflowEnvironment;
  bundle: WorkflowBundleWithSourceMap;
  shop: TempShop;
}

/** Registers a test file's hooks: one time-skipping server and one bundle per file, a fresh shop per test. */
export function useWorkflowTestContext(): WorkflowTestContext {
  const ctx = {} as WorkflowTestContext;
  beforeAll(async () => {
    ctx.env = await createTimeSkippingEnv();
    ctx.bundle = await bundleWorkflows();
  }, 120_000);
  afterAll(async () => {
    await ctx.env?.teardown();
  });
  beforeEach(async () => {
    ctx.shop = await tempShop();
  });
  afterEach(() => ctx.shop.dispose());
  return ctx;
}

/**
 * Terminates a test's conversation if it is still running. One left running without its worker
 * stalls the time-skipping server's clock for the next test (its timers fire into a task queue
 * nobody polls, and a `local` conversation's task stays in flight until it times out).
 */
export async function finishLeftover(env: TestWorkflowEnvironment, workflowId: string): Promise<void> {
  const latest = env.client.workflow.getHandle(workflowId);
  if ((await latest.describe()).status.name === 'RUNNING') await latest.terminate('test over');
}

/** `executeUpdate`'s options for a customer message. */
export const send = (text: string) => ({ args: [{ text }] as [{ text: string }] });

/** The reason an update was rejected or failed, as a client sees it (the failure's cause). */
export async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return String((err as { cause?: Error }).cause?.message ?? (err as Error).message);
  }
  throw new Error('expected the update to be rejected');
}
