/**
 * Runs one desk worker until it is told to stop: the runtime (model + shop), a connection to
 * whatever Temporal TEMPORAL_ADDRESS names, the worker on the `customer-service` queue. Shared by
 * `npm run worker` (worker/main.ts) and the test workers that wrap the activities (a crash test
 * kills its own process at a chosen moment, test/helpers/fault-worker.ts), so the hooks stay out
 * of the product's code.
 */
import { NativeConnection } from '@temporalio/worker';
import type { DeskActivities } from '../activities';
import { temporalSettings } from '../config/connection';
import { TASK_QUEUE } from '../workflows/messages';
import { createDeskRuntime } from './runtime';
import { startTracing } from '../config/tracing';
import { redactUrl } from '../activities/store';
import {
  createDeskWorker,
  deploymentOption,
  installRuntime,
  metricsEndpoint,
  runVersioned,
  versionLine,
  type DeskWorkerOptions,
} from './worker';
import { versioningFromEnv } from './versioning';
import { workflowTaskSlotsFromEnv } from './slots';

export interface RunWorkerOptions {
  /** Wraps the activities before the worker registers them (tests only). */
  wrapActivities?: (activities: DeskActivities) => DeskActivities;
  /** Changes to the workflow bundle (tests only). */
  bundlerOptions?: DeskWorkerOptions['bundlerOptions'];
}

export async function runWorker(opts: RunWorkerOptions = {}): Promise<void> {
  const settings = temporalSettings();
  // Read before anything starts, so a bad value is one clear line and nothing to clean up.
  const versioning = versioningFromEnv();
  const workflowTaskSlots = workflowTaskSlotsFromEnv();
  // The SDK runtime is installed here only to serve metrics: without DESK_METRICS_PORT the worker
  // keeps the SDK's default runtime, as before.
  const metrics = metricsEndpoint();
  if (metrics) installRuntime('INFO', { metrics });
  const tracing = await startTracing('desk-worker');
  const runtime = await createDeskRuntime();
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect(settings.connectionOptions);
  } catch (err) {
    await runtime.close();
    throw new Error(
      `cannot reach Temporal at ${settings.address}: ${(err as Error).message}. Start it with \`npm run server\` or set TEMPORAL_ADDRESS.`,
    );
  }
  try {
    const activities = opts.wrapActivities ? opts.wrapActivities(runtime.activities) : runtime.activities;
    const worker = await createDeskWorker({
      connection,
      namespace: settings.namespace,
      activities,
      tracing,
      bundlerOptions: opts.bundlerOptions,
      workflowTaskSlots,
      ...deploymentOption(versioning),
    });
    console.log(`[worker] ${runtime.description}`);
    console.log(`[worker] ${versionLine(worker)}`);
    console.log(
      `[worker] ${workflowTaskSlots} workflow tasks at once (DESK_WORKFLOW_TASK_SLOTS; worker/slots.ts says why)`,
    );
    if (metrics) console.log(`[worker] Prometheus metrics on http://${metrics.host}:${metrics.port}/metrics`);
    if (tracing) console.log(`[worker] traces exported over OTLP to ${redactUrl(tracing.url)}`);
    const { running, promoted } = await runVersioned(worker, connection, versioning);
    if (promoted) console.log(`[worker] ${promoted}`);
    // Last, so "polling" on stdout means ready, banner and all (the e2e tests wait for it).
    console.log(`[worker] polling task queue ${TASK_QUEUE} on ${settings.address} (namespace ${settings.namespace})`);
    await running;
    console.log('[worker] stopped');
  } finally {
    await connection.close();
    await runtime.close();
    await tracing?.shutdown();
  }
}

/** The entry points' ending: a one-line error and exit code 1 instead of a stack trace. */
export function exitOnError(err: unknown): never {
  console.error(`[worker] ${(err as Error).message}`);
  process.exit(1);
}
