/**
 * The floor as the benchmark runs it (bench/floor/workflow.ts says what it is): its own worker on
 * its own task queue of the desk's dev server, in this process, with the desk worker's slot count,
 * and a conversation per timed turn, started untimed as the desk's are.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';

import { DEFAULT_WORKFLOW_TASK_SLOTS } from '../../worker/slots';
import type { ExecutionMode } from '../../workflows/messages';
import { modelStepIsLocal, runsAsActivity } from '../../workflows/turn';
import type { Scenario } from '../scenarios';
import {
  floorConversation,
  floorEndSignal,
  floorReadyQuery,
  floorTurnUpdate,
  type FloorActivities,
  type FloorStep,
} from './workflow';

export interface FloorSystem {
  name: string;
  /** One turn of the scenario's shape in a fresh conversation: milliseconds, as the client timed it. */
  turn(s: Scenario): Promise<number>;
  close(): Promise<void>;
}

/** The scenario's activities, each placed where the desk's turn places it in this execution mode (workflows/turn.ts). */
export function floorSteps(s: Scenario, execution: ExecutionMode): FloorStep[] {
  return s.activities.map((a): FloorStep =>
    a === 'model'
      ? { kind: 'model', local: modelStepIsLocal(execution) }
      : { kind: 'tool', local: !runsAsActivity(execution, a) },
  );
}

const TASK_QUEUE = 'desk-bench-floor';

export async function startFloorSystem(opts: {
  address: string;
  execution: ExecutionMode;
  workflowTaskSlots?: number;
}): Promise<FloorSystem> {
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./workflow'),
    logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} },
  });
  const nativeConnection = await NativeConnection.connect({ address: opts.address });
  const connection = await Connection.connect({ address: opts.address });
  const client = new Client({ connection });
  const activities: FloorActivities = { floorStep: async (kind) => kind };
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowBundle,
    activities,
    maxConcurrentWorkflowTaskExecutions: opts.workflowTaskSlots ?? DEFAULT_WORKFLOW_TASK_SLOTS,
  });
  const running = worker.run();
  const started: WorkflowHandle[] = [];
  return {
    name: `Temporal floor (${opts.execution})`,
    async turn(s) {
      const steps = floorSteps(s, opts.execution);
      const handle = await client.workflow.start(floorConversation, {
        taskQueue: TASK_QUEUE,
        workflowId: `floor-${s.name}-${randomUUID()}`,
      });
      started.push(handle);
      await handle.query(floorReadyQuery); // its first workflow task has run, as a desk conversation's has
      const t0 = performance.now();
      const ran = await handle.executeUpdate(floorTurnUpdate, { args: [steps] });
      const ms = performance.now() - t0;
      if (ran !== steps.length) throw new Error(`the floor ran ${ran} of ${steps.length} activities`);
      return ms;
    },
    async close() {
      await Promise.all(started.map((h) => h.signal(floorEndSignal).catch(() => undefined)));
      worker.shutdown();
      await running;
      await connection.close();
      await nativeConnection.close();
    },
  };
}
