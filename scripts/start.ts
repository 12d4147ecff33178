/**
 * `npm start`: the desk in the foreground: the Temporal dev server (or the one already running at
 * TEMPORAL_ADDRESS), one worker on the `customer-service` queue and the web console, until Ctrl-C.
 * Work in the console, drive it from another terminal with `npm run client -- chat`, watch it in
 * the Temporal UI.
 */
import { NativeConnection } from '@temporalio/worker';
import { replyStreamReader } from '../activities/reply-stream';
import { connectClient, temporalSettings } from '../config/connection';
import { consoleBanner, startConsoleFromEnv, type StartedConsole } from '../console/run';
import { TASK_QUEUE } from '../workflows/messages';
import { createDeskRuntime } from '../worker/runtime';
import {
  createDeskWorker,
  deploymentOption,
  installRuntime,
  metricsEndpoint,
  runVersioned,
  versionLine,
} from '../worker/worker';
import { versioningFromEnv } from '../worker/versioning';
import { startTracing } from '../config/tracing';
import { redactUrl } from '../activities/store';
import { DEFAULT_UI_PORT, startDevServer } from './dev-server';

async function main(): Promise<void> {
  // This script owns Ctrl-C: the SDK's own handlers are off, so one signal drains the worker and a
  // repeated one (npm and tsx relay Ctrl-C a second time) changes nothing.
  // DESK_METRICS_PORT and OTEL_EXPORTER_OTLP_ENDPOINT work here as for `npm run worker`; unset, neither is on.
  const metrics = metricsEndpoint();
  installRuntime('INFO', { shutdownSignals: [], ...(metrics && { metrics }) });
  const tracing = await startTracing('desk-worker');
  const settings = temporalSettings();
  // The one worker here: its version becomes current (DESK_PROMOTE=always unless set otherwise).
  const versioning = versioningFromEnv(process.env, { promote: 'always' });
  const local = !process.env.TEMPORAL_API_KEY && !settings.connectionOptions.tls;
  const server = local ? await startDevServer({ address: settings.address, uiPort: DEFAULT_UI_PORT }) : undefined;
  const runtime = await createDeskRuntime();
  const connection = await NativeConnection.connect(settings.connectionOptions);
  let started: StartedConsole | undefined;
  try {
    const worker = await createDeskWorker({
      connection,
      namespace: settings.namespace,
      activities: runtime.activities,
      tracing,
      ...deploymentOption(versioning),
    });
    const { running, promoted } = await runVersioned(worker, connection, versioning);
    console.log('');
    console.log(
      `Temporal:     ${settings.address} (namespace ${settings.namespace})${server?.reused ? ', already running' : ''}`,
    );
    if (server?.uiUrl) console.log(`Temporal UI:  ${server.uiUrl}`);
    console.log(`Worker:       task queue ${TASK_QUEUE}; ${runtime.description}`);
    console.log(`Versioning:   ${versionLine(worker)}${promoted ? `; ${promoted}` : ''}`);
    if (metrics) console.log(`Metrics:      http://${metrics.host}:${metrics.port}/metrics`);
    if (tracing) console.log(`Traces:       OTLP to ${redactUrl(tracing.url)}`);
    // The console reads streamed replies from the worker's own shop database, through its open store.
    started = await (async () =>
      startConsoleFromEnv({
        client: await connectClient(settings),
        settings,
        streams: replyStreamReader(runtime.store.replies, () => Promise.resolve()),
        interrupts: runtime.store.interrupts,
      }))().catch((err: unknown) => {
      console.log(`Console:      not started: ${(err as Error).message}`);
      return undefined;
    });
    if (started) console.log(consoleBanner(started));
    console.log('Talk to it:   npm run client -- chat --customer alice');
    console.log('Press Ctrl-C to stop.');
    const stop = (signal: NodeJS.Signals) => {
      if (worker.getState() !== 'RUNNING') return;
      console.log(`\n[start] ${signal}: draining the worker, then stopping the server…`);
      worker.shutdown();
    };
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);
    await running;
  } finally {
    await started?.console.close();
    await started?.client.connection.close();
    await connection.close();
    await runtime.close();
    await server?.stop();
    await tracing?.shutdown();
    console.log('[start] stopped.');
  }
}

main().catch((err: unknown) => {
  console.error(`[start] ${(err as Error).message}`);
  process.exit(1);
});
