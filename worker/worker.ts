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
import { TASK_QUEUE } from '../workflows/messages';
import { buildIdFor } from './versioning';

export interface DeskWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  activities: DeskActivities;
  taskQueue?: string;
  /** Extra options, for tests (e.g. `maxCachedWorkflows: 0` to replay every step). */
  overrides?: Partial<WorkerOptions>;
  /**
   * Run as a version of this worker deployment; unset: an unversioned worker. The build id defaults
   * to buildIdFor(the bundle this worker runs).
   */
  deployment?: { deploymentName: string; buildId?: string };
  /** Changes to the workflow bundle (tests only: the upgrade test's changed desk). */
  bundlerOptions?: Pick<BundleOptions, 'webpackConfigHook'>;
}

export const WORKFLOWS_PATH = require.resolve('../workflows');

export async function createDeskWorker(opts: DeskWorkerOptions): Promise<Worker> {
  const common = {
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    activities: opts.activities,
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
  const bundle = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: Runtime.instance().logger,
    ...opts.bundlerOptions,
  });
  const version: WorkerDeploymentVersion = {
    deploymentName: opts.deployment.deploymentName,
    buildId: opts.deployment.buildId ?? buildIdFor(bundle.code),
  };
  return Worker.create({
    ...common,
    workflowBundle: { code: bundle.code },
    // The conversation workflow declares PINNED itself; this is the default for any other workflow type.
    workerDeploymentOptions: { useWorkerVersioning: true, version, defaultVersioningBehavior: 'PINNED' },
    ...opts.overrides,
  });
}

/** The deployment version a worker runs as; undefined for an unversioned worker. */
export function deskWorkerVersion(worker: Worker): WorkerDeploymentVersion | undefined {
  const options = worker.options.workerDeploymentOptions;
  return options?.useWorkerVersioning ? options.version : undefined;
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
