/**
 * `npm run server`: a Temporal dev server in the foreground (SQLite in .data/temporal.db, Web UI on
 * 8233, the desk's search attributes registered) until Ctrl-C. If a Temporal server already answers at
 * TEMPORAL_ADDRESS (default 127.0.0.1:7233), says so and exits 0.
 */
import { DEFAULT_UI_PORT, startDevServer } from './dev-server';

async function main(): Promise<void> {
  const server = await startDevServer({
    uiPort: DEFAULT_UI_PORT,
    onUnexpectedExit: (code) => {
      console.error('[temporal] the dev server stopped on its own; exiting.');
      process.exit(code || 1);
    },
  });
  if (server.reused) {
    console.log(`[temporal] A Temporal server is already running at ${server.address}; nothing to start.`);
    return;
  }
  console.log(`Temporal server: ${server.address}`);
  if (server.uiUrl) console.log(`Temporal UI: ${server.uiUrl}`);
  console.log('Press Ctrl-C to stop.');

  // The server process does not keep Node alive by itself (see dev-server.ts); this does.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    // Ctrl-C under `npm run`/tsx arrives twice (from the terminal and relayed by tsx); stop() is bounded (SIGKILL after 10 s).
    if (stopping) return;
    stopping = true;
    console.log(`\n[temporal] ${signal}: stopping the dev server...`);
    server
      .stop()
      .then(() => {
        console.log('[temporal] stopped.');
        clearInterval(keepAlive);
        process.exit(0);
      })
      .catch((err: unknown) => {
        console.error('[temporal] stopping failed:', err);
        process.exit(1);
      });
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  process.on('SIGHUP', shutdown);
}

main().catch((err: unknown) => {
  console.error(`[temporal] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
