/**
 * Runs the offline model on its own: `npx tsx offline-model/main.ts`. Point any OpenAI client at
 * the printed base URL (e.g. `OPENAI_BASE_URL=http://127.0.0.1:4010/v1`). Port from
 * OFFLINE_MODEL_PORT (default 4010); loopback only, since it has no authentication. Streamed
 * answers pause OFFLINE_MODEL_CHUNK_DELAY_MS between chunks (default 0).
 */
import { startOfflineModel } from './server';
import { offlineChunkDelayMs } from './stream';

async function main(): Promise<void> {
  const raw = process.env.OFFLINE_MODEL_PORT || '4010';
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`OFFLINE_MODEL_PORT must be a port number (0-65535), got ${JSON.stringify(raw)}`);
  }
  const model = await startOfflineModel({
    port,
    chunkDelayMs: offlineChunkDelayMs(),
    log: (line) => console.log(line),
  });
  console.log(`offline model listening: ${model.baseURL}`);
  const stop = (): void => {
    model.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
