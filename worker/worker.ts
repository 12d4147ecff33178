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
import type { Tracing } from '../config/tracing';
import { TASK_QUEUE } from '../workflows/messages';

export interface DeskWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  activities: DeskActivities;
  taskQueue?: string;
  /** Extra options, for tests (e.g. `maxCachedWorkflows: 0` to replay every step). */
  overrides?: Partial<WorkerOptions>;
  /** OpenTelemetry interceptors and the workflow span sink (config/tracing.ts), when tracing is on. */
  tracing?: Tracing;
}

export const WORKFLOWS_PATH = require.resolve('../workflows');

export function createDeskWorker(opts: DeskWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    workflowsPath: WORKFLOWS_PATH,
    activities: opts.activities,
    ...opts.tracing?.workerOptions(),
    ...opts.overrides,
  });
}

/**
 * Install the SDK runtime with a log level (once per process, before any worker or connection).
 * The demo and tests keep the worker's lifecycle chatter out of their output.
 */
export function installRuntime(
  level: 'INFO' | 'WARN' | 'ERROR',
  extra: { shutdownSignals?: NodeJS.Signals[]; metrics?: MetricsEndpoint } = {},
): void {
  const { metrics, ...rest } = extra;
  Runtime.install({
    ...rest,
    logger: new DefaultLogger(level),
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: level === 'INFO' ? 'WARN' : 'ERROR', other: 'ERROR' }) },
      // One Prometheus endpoint for the SDK's own metrics and the desk's (workflows/telemetry.ts,
      // activities/telemetry.ts), which go through the SDK's metric meters.
      ...(metrics && { metrics: { prometheus: { bindAddress: `${metrics.host}:${metrics.port}` } } }),
    },
  });
}

/** Where the worker serves Prometheus metrics (`/metrics`). */
export interface MetricsEndpoint {
  host: string;
  port: number;
}

/**
 * DESK_METRICS_PORT (off when unset) and DESK_METRICS_HOST (default 127.0.0.1; 0.0.0.0 in a
 * container a Prometheus elsewhere scrapes). Throws one line on a bad value.
 */
export function metricsEndpoint(env: NodeJS.ProcessEnv = process.env): MetricsEndpoint | undefined {
  const raw = env.DESK_METRICS_PORT?.trim();
  if (!raw) return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new Error(`DESK_METRICS_PORT must be a port number from 1 to 65535, got ${JSON.stringify(raw)}`);
  const host = env.DESK_METRICS_HOST?.trim() || '127.0.0.1';
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(host)) throw new Error(`DESK_METRICS_HOST is not a host: ${JSON.stringify(host)}`);
  return { host, port };
}
