/**
 * Builds the desk's Temporal worker: the conversation workflow (bundled from workflows/) and the
 * activities from a DeskRuntime, on the `customer-service` task queue.
 */
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  makeTelemetryFilterString,
  type WorkerOptions,
} from '@temporalio/worker';
import type { DeskActivities } from '../activities';
import { TASK_QUEUE } from '../workflows/messages';

export interface DeskWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  activities: DeskActivities;
  taskQueue?: string;
  /** Extra options, for tests (e.g. `maxCachedWorkflows: 0` to replay every step). */
  overrides?: Partial<WorkerOptions>;
}

export const WORKFLOWS_PATH = require.resolve('../workflows');

export function createDeskWorker(opts: DeskWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    workflowsPath: WORKFLOWS_PATH,
    activities: opts.activities,
    ...opts.overrides,
  });
}

/**
 * Install the SDK runtime with a log level (once per process, before any worker or connection).
 * The demo and tests keep the worker's lifecycle chatter out of their output.
 */
export function installRuntime(
  level: 'INFO' | 'WARN' | 'ERROR',
  extra: { shutdownSignals?: NodeJS.Signals[] } = {},
): void {
  Runtime.install({
    ...extra,
    logger: new DefaultLogger(level),
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: level === 'INFO' ? 'WARN' : 'ERROR', other: 'ERROR' }) },
    },
  });
}
