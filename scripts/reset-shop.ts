/**
 * `tsx scripts/reset-shop.ts`: puts the shop database (`SHOP_DATABASE_URL` if set, else the SQLite
 * file `$SHOP_DB`, default `.data/shop.db`) back to the seed (alice's and bob's orders, one
 * refund, no tickets, no recorded tool calls), so a demo can be run again from the start. Safe
 * while workers are running: the reset is one transaction, and a worker's next tool call sees
 * either the old data or the seed.
 */
import { defaultShopLocation, openShopStore, resetShopStore } from '../activities/store';

async function main(): Promise<void> {
  const store = await openShopStore(defaultShopLocation());
  try {
    await resetShopStore(store);
    console.log(`Shop database reset to seed: ${store.backend} ${store.location}`);
    for (const [table, count] of Object.entries(await store.counts())) console.log(`  ${table.padEnd(16)} ${count}`);
  } finally {
    await store.close();
  }
}

main().catch((err: unknown) => {
  console.error(`shop:reset failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
