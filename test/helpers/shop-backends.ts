/**
 * The shop on both engines for tests: a fresh SQLite file, or a fresh database in one throwaway
 * PostgreSQL server per test file (scripts/postgres.ts: initdb in a temp folder, a free loopback
 * port, run as the `postgres` user when we are root). Call `useShopBackends()` once at the top of
 * a test file; it stops the server after the file's tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { openShopStore, type ShopStore } from '../../activities/store';
import { freePort } from '../../scripts/dev-server';
import { startLocalPostgres, type LocalPostgres } from '../../scripts/postgres';

export const BACKENDS = ['sqlite', 'postgres'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface TestShop {
  store: ShopStore;
  /** What `openShopStore` takes to open this same database again (file path or URL). */
  location: string;
  dispose(): Promise<void>;
}

let server: { pg: Promise<LocalPostgres>; dir: string } | undefined;
let dbSeq = 0;

/** The file's PostgreSQL server, started on first use. */
export function testPostgres(): Promise<LocalPostgres> {
  if (!server) {
    const dir = mkdtempSync(path.join(tmpdir(), 'desk-pg-'));
    const pg = freePort().then((port) =>
      startLocalPostgres({ dataDir: path.join(dir, 'data'), port, ephemeral: true }),
    );
    server = { pg, dir };
  }
  return server.pg;
}

/** Registers the afterAll that stops this file's PostgreSQL server (if one was started). */
export function useShopBackends(): void {
  afterAll(async () => {
    if (!server) return;
    const { pg, dir } = server;
    server = undefined;
    await (await pg).stop();
    rmSync(dir, { recursive: true, force: true });
  });
}

/** A new PostgreSQL database on the file's server; its URL. */
export async function freshPostgresDatabase(): Promise<string> {
  const pg = await testPostgres();
  const name = `shop_${process.pid}_${++dbSeq}`;
  await pg.createDatabase(name);
  return pg.url(name);
}

/** A fresh, migrated and seeded shop on `backend`. */
export async function openTestShop(backend: BackendName): Promise<TestShop> {
  if (backend === 'postgres') {
    const location = await freshPostgresDatabase();
    const store = await openShopStore(location);
    return { store, location, dispose: () => store.close() };
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'desk-shop-'));
  const location = path.join(dir, 'shop.db');
  const store = await openShopStore(location);
  return {
    store,
    location,
    async dispose() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
