/**
 * The shop database behind one interface, on one of two engines: SQLite (a file, the embedded
 * default: one host) or PostgreSQL (`SHOP_DATABASE_URL=postgres://…`: any number of workers on
 * any number of hosts). Both run the same migrations, seed and queries (queries.ts); a backend
 * only opens connections and runs transactions (sqlite.ts, postgres.ts).
 *
 * Tools work on a transaction-scoped handle: `writeTransaction(async (tx) => …)` runs the checks
 * and the writes they allow, and commits them together or not at all.
 */
import { resolve } from 'node:path';

import type { ShopStore } from './backend';
import { openPostgresStore } from './postgres';
import { openSqliteStore } from './sqlite';

export type { ShopStore } from './backend';
export type { NewAddressChange, NewCancellation, NewRefund, NewTicket, ShopQueries } from './queries';

/** `$SHOP_DB`, else `<repo>/.data/shop.db` (git-ignored). An empty `SHOP_DB` counts as unset. */
export function defaultShopDbPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.SHOP_DB || resolve(__dirname, '..', '..', '.data', 'shop.db');
}

/** `$SHOP_DATABASE_URL` (PostgreSQL) if set and not empty, else the SQLite file `defaultShopDbPath()`. */
export function defaultShopLocation(env: NodeJS.ProcessEnv = process.env): string {
  return env.SHOP_DATABASE_URL || defaultShopDbPath(env);
}

export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/**
 * Opens (creating, migrating and seeding on first use) the shop database: a `postgres://` or
 * `postgresql://` URL selects PostgreSQL, anything else is an SQLite file path.
 */
export async function openShopStore(location: string): Promise<ShopStore> {
  return isPostgresUrl(location) ? openPostgresStore(location) : openSqliteStore(location);
}

/** Deletes every shop row (tool_calls included) and inserts the seed again, in one transaction. */
export function resetShopStore(store: ShopStore): Promise<void> {
  return store.reset();
}

/**
 * The error codes that mean "try again later", not "this call is wrong": SQLite busy or locked,
 * PostgreSQL connection loss, serialization failure, deadlock, lock timeout, shutdown, and the
 * operating system's I/O trouble. The runner turns them into a retryable Temporal failure.
 */
const TRANSIENT_CODE =
  /^(SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|PROTOCOL|NOMEM|READONLY|INTERRUPT)|08\w{3}|40001|40P01|55P03|57P0[123]|53\w{3}|58\w{3}|E(IO|NOSPC|AGAIN|BUSY|MFILE|NFILE|CONNREFUSED|CONNRESET|PIPE|TIMEDOUT|HOSTUNREACH|NETUNREACH|AI_AGAIN))/;
/** `pg` reports a lost or unobtainable connection with these messages and no code. */
const TRANSIENT_MESSAGE =
  /Connection terminated|connection error|timeout exceeded when trying to connect|Client was closed|terminating connection/i;

export function isTransientStoreError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TRANSIENT_CODE.test(code)) return true;
  return err instanceof Error && TRANSIENT_MESSAGE.test(err.message);
}
