/**
 * The shop database's public face: open it, reset it to the seed, and the domain types. The tool
 * runner and the reset script import from here; nothing outside activities/ should.
 */
export { defaultShopDbPath, openShopStore, resetShopStore } from './store';
export type { NewAddressChange, NewCancellation, NewRefund, NewTicket, ShopStore } from './store';
export * from './types';
export { SEED_CUSTOMERS, SEED_ORDERS, SEED_REFUNDS } from './seed';
