/**
 * `tsx scripts/reset-shop.ts`: puts the shop database at `$SHOP_DB` (default `.data/shop.db`)
 * back to the seed (alice's and bob's orders, one refund, no tickets, no recorded tool calls), so a
 * demo can be run again from the start. Safe while a worker is running: the reset is one
 * transaction, and the worker's next tool call sees either the old data or the seed.
 */
import { defaultShopDbPath, openShopStore, resetShopStore } from '../activities/store';

const path = defaultShopDbPath();
const store = openShopStore(path);
try {
  resetShopStore(store);
  console.log(`Shop database reset to seed: ${path}`);
  for (const [table, count] of Object.entries(store.counts())) console.log(`  ${table.padEnd(16)} ${count}`);
} finally {
  store.close();
}
