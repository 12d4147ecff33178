/**
 * `npm run console`: the web console on its own, against whatever Temporal TEMPORAL_ADDRESS (and
 * the rest of config/connection.ts) names, reading streamed replies from the shop database the
 * workers write (SHOP_DATABASE_URL, else SHOP_DB). `npm start` runs the same console next to its
 * worker (scripts/start.ts).
 */
import { connectClient, temporalSettings } from '../config/connection';
import { replyStreamReader } from '../activities/reply-stream';
import { defaultShopLocation, openShopStore } from '../activities/store';
import { consoleBanner, startConsoleFromEnv } from './run';

async function main(): Promise<void> {
  const settings = temporalSettings();
  const client = await connectClient(settings);
  await client.workflowService.getSystemInfo({});
  const store = await openShopStore(defaultShopLocation(process.env));
  const streams = replyStreamReader(store.replies, () => store.close());
  const running = await startConsoleFromEnv({ client, settings, streams, interrupts: store.interrupts });
  console.log(consoleBanner(running));
  console.log('Press Ctrl-C to stop.');
  const stop = () => {
    void running.console
      .close()
      .then(() => streams.close())
      .then(() => client.connection.close())
      .finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(`[console] ${(err as Error).message}`);
  process.exit(1);
});
