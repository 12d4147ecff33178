/**
 * Builds the desk's Temporal worker: the conversation workflow (bundled from workflows/) and the
 * activities from a DeskRuntime, on the `customer-service` task queue; with a deployment name, a
 * versioned worker of that worker deployment (worker/versioning.ts).
 */
import type { WorkerDeploymentVersion } from '@temporalio/common';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  bundleWorkflowCode,
  makeTelemetryFilterString,
  type BundleOptions,
  type WorkerOptions,
} from '@temporalio/worker';
import type { DeskActivities } from '../activities';
import type { Tracing } from '../config/tracing';
import { TASK_QUEUE } from '../workflows/messages';
import { DEFAULT_WORKFLOW_TASK_SLOTS } from './slots';
import { applyPromotePolicy, buildIdFor, formatVersion, type VersioningConfig } from './versioning';

export interface DeskWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  activities: DeskActivities;
  taskQueue?: string;
  /** Extra options, for tests (e.g. `maxCachedWorkflows: 0` to replay every step). */
  overrides?: Partial<WorkerOptions>;
  /** OpenTelemetry interceptors and the workflow span sink (config/tracing.ts), when tracing is on. */
  tracing?: Tracing;
  /**
   * Run as a version of this worker deployment; unset: an unversioned worker. The build id defaults
   * to buildIdFor(the bundle this worker runs).
   */
  deployment?: { deploymentName: string; buildId?: string };
  /** Changes to the workflow bundle (tests only: the upgrade test's changed desk). */
  bundlerOptions?: Pick<BundleOptions, 'webpackConfigHook'>;
  /** Workflow tasks run at once (worker/slots.ts says why): default DEFAULT_WORKFLOW_TASK_SLOTS. */
  workflowTaskSlots?: number;
}

export const WORKFLOWS_PATH = require.resolve('../workflows');

export async function createDeskWorker(opts: DeskWorkerOptions): Promise<Worker> {
  const common = {
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    activities: opts.activities,
    maxConcurrentWorkflowTaskExecutions: opts.workflowTaskSlots ?? DEFAULT_WORKFLOW_TASK_SLOTS,
    ...opts.tracing?.workerOptions(),
  };
  if (!opts.deployment) {
    return Worker.create({
      ...common,
      workflowsPath: WORKFLOWS_PATH,
      bundlerOptions: opts.bundlerOptions,
      ...opts.overrides,
    });
  }
  // Bundled here rather than by Worker.create, so that the build id can name the very code that runs.
  const bundle = (workflowInterceptorModules?: string[]) =>
    bundleWorkflowCode({
      workflowsPath: WORKFLOWS_PATH,
      logger: Runtime.instance().logger,
      ...(workflowInterceptorModules && { workflowInterceptorModules }),
      ...opts.bundlerOptions,
    });
  const desk = await bundle();
  // With tracing on, the code that runs also has the OpenTelemetry workflow interceptors; they add
  // no commands (replay-traced.test.ts replays every release's histories with them), so the build id
  // still names the desk's own code: turning tracing on or off is not a new version.
  const tracingModules = common.interceptors?.workflowModules;
  const code = tracingModules?.length ? (await bundle(tracingModules)).code : desk.code;
  const version: WorkerDeploymentVersion = {
    deploymentName: opts.deployment.deploymentName,
    buildId: opts.deployment.buildId ?? buildIdFor(desk.code),
  };
  return Worker.create({
    ...common,
    workflowBundle: { code },
    // Every run stays on the version it started on (workflows/conversation.ts says why and how it moves).
    workerDeploymentOptions: { useWorkerVersioning: true, version, defaultVersioningBehavior: 'PINNED' },
    ...opts.overrides,
  });
}

/** The deployment version a worker runs as; undefined for an unversioned worker. */
export function deskWorkerVersion(worker: Worker): WorkerDeploymentVersion | undefined {
  const options = worker.options.workerDeploymentOptions;
  return options?.useWorkerVersioning ? options.version : undefined;
}

/** The `deployment` option of createDeskWorker for a versioning configuration (worker/versioning.ts). */
export function deploymentOption(versioning: VersioningConfig): Pick<DeskWorkerOptions, 'deployment'> {
  return versioning.enabled
    ? { deployment: { deploymentName: versioning.deploymentName, buildId: versioning.buildId } }
    : {};
}

/** One line for a worker's banner: its version, or that it runs unversioned. */
export function versionLine(worker: Worker): string {
  const version = deskWorkerVersion(worker);
  return version
    ? `version ${formatVersion(version)} (worker deployment ${version.deploymentName}, build id ${version.buildId}; conversations pinned to the version they start on)`
    : 'unversioned (DESK_VERSIONING=off): any worker on the task queue takes any conversation';
}

/**
 * Applies a running worker's promote policy (worker/versioning.ts): call it once the worker polls,
 * since the server learns a version from its workers' polls. The policy's one-line outcome;
 * undefined for an unversioned worker.
 */
export async function promoteWorker(
  worker: Worker,
  connection: NativeConnection,
  versioning: VersioningConfig,
): Promise<string | undefined> {
  const version = deskWorkerVersion(worker);
  if (!version || !versioning.enabled) return undefined;
  try {
    return await applyPromotePolicy(connection.workflowService, worker.options.namespace, version, versioning.promote);
  } catch (err) {
    throw new Error(`could not apply DESK_PROMOTE=${versioning.promote}: ${(err as Error).message}`);
  }
}

/** Runs the worker and applies its promote policy; if that fails, the worker is stopped and the error thrown. */
export async function runVersioned(
  worker: Worker,
  connection: NativeConnection,
  versioning: VersioningConfig,
): Promise<{ running: Promise<void>; promoted: string | undefined }> {
  const running = worker.run();
  try {
    return { running, promoted: await promoteWorker(worker, connection, versioning) };
  } catch (err) {
    worker.shutdown();
    await running.catch(() => undefined);
    throw err;
  }
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
