/**
 * `npm run worker`: one desk worker against whatever Temporal TEMPORAL_ADDRESS names (the dev
 * server by default). Kill it at any point: the conversation waits, and a new worker carries on.
 * Ctrl-C (SIGINT/SIGTERM) drains it cleanly.
 */
import { NativeConnection } from '@temporalio/worker';
import { temporalSettings } from '../config/connection';
import { TASK_QUEUE } from '../workflows/messages';
import { createDeskRuntime } from './runtime';
import { createDeskWorker } from './worker';

async function main(): Promise<void> {
  const settings = temporalSettings();
  const runtime = await createDeskRuntime();
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect(settings.connectionOptions);
  } catch (err) {
    await runtime.close();
    throw new Error(`cannot reach Temporal at ${settings.address}: ${(err as Error).message}. Start it with \`npm run server\` or set TEMPORAL_ADDRESS.`);
  }
  try {
    const worker = await createDeskWorker({ connection, namespace: settings.namespace, activities: runtime.activities });
    console.log(`[worker] ${runtime.description}`);
    // Last, so "polling" on stdout means ready, banner and all (the e2e tests wait for it).
    console.log(`[worker] polling task queue ${TASK_QUEUE} on ${settings.address} (namespace ${settings.namespace})`);
    await worker.run();
    console.log('[worker] stopped');
  } finally {
    await connection.close();
    await runtime.close();
  }
}

main().catch((err: unknown) => {
  console.error(`[worker] ${(err as Error).message}`);
  process.exit(1);
});
