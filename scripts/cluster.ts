/**
 * `npm run cluster`: a self-hosted Temporal cluster in the foreground until Ctrl-C: a local
 * PostgreSQL (persistence, visibility and the shop, data kept in .data/cluster) and the Temporal
 * server on it, built once from source (scripts/temporal-server.ts). Prints what workers and the
 * client need; `npm run worker` and `npm run client` then work against it unchanged, on the
 * default TEMPORAL_ADDRESS. See scripts/local-cluster.ts.
 *
 *   CLUSTER_DIR            where the data lives (default .data/cluster)
 *   CLUSTER_TEMPORAL_PORT  the frontend's port (default 7233)
 *   CLUSTER_POSTGRES_PORT  PostgreSQL's port (default 55432)
 */
import path from 'node:path';

import { DEFAULT_CLUSTER_DIR, DEFAULT_CLUSTER_PORTS, startLocalCluster } from './local-cluster';

async function main(): Promise<void> {
  const t0 = Date.now();
  const dir = process.env.CLUSTER_DIR || DEFAULT_CLUSTER_DIR;
  const cluster = await startLocalCluster({
    dir,
    ports: {
      frontend: Number(process.env.CLUSTER_TEMPORAL_PORT) || DEFAULT_CLUSTER_PORTS.frontend,
      postgres: Number(process.env.CLUSTER_POSTGRES_PORT) || DEFAULT_CLUSTER_PORTS.postgres,
    },
    namespace: process.env.TEMPORAL_NAMESPACE || 'default',
    onUnexpectedExit: () => {
      console.error('[cluster] the Temporal server stopped on its own; stopping the cluster.');
      void cluster.stop().finally(() => process.exit(1));
    },
  });
  const rel = (p: string) => path.relative(process.cwd(), p) || p;
  const addressEnv = cluster.address === '127.0.0.1:7233' ? '' : `TEMPORAL_ADDRESS=${cluster.address} `;
  console.log(`
Temporal server ${cluster.server.version} (self-hosted; persistence and visibility on PostgreSQL): ${cluster.address}
PostgreSQL ${cluster.postgres.url('')} (databases temporal, temporal_visibility, shop), data in ${rel(dir)}
Namespace ${cluster.namespace}, search attributes CurrentAgent, CustomerId, HandoffCount, PendingApprovals. Ready in ${((Date.now() - t0) / 1000).toFixed(1)} s.

Workers (as many as you like, each in its own terminal; they share the PostgreSQL shop):
  ${addressEnv}SHOP_DATABASE_URL=${cluster.shopUrl} npm run worker
The client:
  ${addressEnv}npm run client -- start --customer alice --message "Has my order #12345 shipped?"
Server log: ${rel(cluster.serverLog)}. Press Ctrl-C to stop.`);

  const keepAlive = setInterval(() => undefined, 1 << 30);
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    // Ctrl-C under `npm run`/tsx can arrive twice; stop once.
    if (stopping) return;
    stopping = true;
    console.log(`\n[cluster] ${signal}: stopping the Temporal server and PostgreSQL...`);
    cluster
      .stop()
      .then(() => {
        console.log('[cluster] stopped.');
        clearInterval(keepAlive);
        process.exit(0);
      })
      .catch((err: unknown) => {
        console.error('[cluster] stopping failed:', err);
        process.exit(1);
      });
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  process.on('SIGHUP', shutdown);
}

main().catch((err: unknown) => {
  console.error(`[cluster] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
