/**
 * The shop database's public face: open it (SQLite file or PostgreSQL URL), reset it to the seed,
 * and the domain types. The tool runner and the scripts import from here; nothing outside
 * activities/ should reach into the backends.
 */
export {
  defaultShopDbPath,
  defaultShopLocation,
  isPostgresUrl,
  isTransientStoreError,
  openShopStore,
  resetShopStore,
} from './store';
export type { NewAddressChange, NewCancellation, NewRefund, NewTicket, ShopQueries, ShopStore } from './store';
export type { NewReplyChunk, ReplyChunkStore } from './reply-chunks';
export type { InterruptStore } from './interrupts';
export { openSqliteStore, type SqliteShopStore } from './sqlite';
export { openPostgresStore, redactUrl, type PostgresShopStore } from './postgres';
export * from './types';
export { SEED_CUSTOMERS, SEED_ORDERS, SEED_REFUNDS } from './seed';
