/**
 * The shop database on its own: first open creates, migrates and seeds; reopening keeps data;
 * the SQL guards refuse what the tools also refuse; reset brings the seed back.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { defaultShopDbPath, openShopStore, resetShopStore, type ShopStore } from '../../activities/store';

let dir: string;
let dbPath: string;
let store: ShopStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shop-store-'));
  dbPath = join(dir, 'nested', 'shop.db');
  store = openShopStore(dbPath);
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const at = '2025-02-01T12:00:00.000Z';

describe('openShopStore', () => {
  it('creates the folder and the file, in WAL mode with a busy timeout', () => {
    expect(existsSync(dbPath)).toBe(true);
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('busy_timeout', { simple: true })).toBeGreaterThan(0);
    expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1);
  });

  it('records the applied migrations', () => {
    const rows = store.db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
    expect(rows).toEqual([{ version: 1, name: 'initial shop schema' }]);
  });

  it('seeds alice and bob with their orders', () => {
    expect(store.getCustomer('alice')).toMatchObject({ name: 'Alice Martin' });
    expect(store.findCustomerOrder('alice', '12345')).toEqual({
      id: '12345',
      customerId: 'alice',
      status: 'shipped',
      totalCents: 9999,
      items: [
        { sku: 'WID-A', name: 'Widget A', quantity: 1, unitPriceCents: 5999 },
        { sku: 'WID-B', name: 'Widget B', quantity: 1, unitPriceCents: 4000 },
      ],
      trackingNumber: 'TRK-98765',
      carrier: 'UPS',
      shippingAddress: expect.any(String),
      createdAt: expect.any(String),
    });
    expect(store.findCustomerOrder('alice', '67890')).toMatchObject({
      status: 'pending',
      totalCents: 14999,
      items: [expect.objectContaining({ name: 'Gadget X' })],
      trackingNumber: null,
    });
    expect(store.findCustomerOrder('bob', '24680')).toMatchObject({ status: 'shipped', totalCents: 5900 });
    expect(store.findCustomerOrder('bob', '13579')).toMatchObject({ status: 'pending', totalCents: 2000 });

    const statuses = store.db.prepare('SELECT DISTINCT status FROM orders ORDER BY status').pluck().all();
    expect(statuses).toEqual(['cancelled', 'delivered', 'pending', 'shipped']);
    // One partially refunded order, with its refund row.
    expect(store.findCustomerOrder('alice', '33333')).toMatchObject({ totalCents: 8000 });
    expect(store.refundedCents('33333')).toBe(3000);
    expect(store.counts()).toEqual({
      tool_calls: 0,
      refunds: 1,
      cancellations: 1,
      address_changes: 0,
      support_tickets: 0,
      orders: 8,
      customers: 2,
    });
  });

  it('scopes orders to their customer', () => {
    expect(store.findCustomerOrder('alice', '24680')).toBeUndefined();
    expect(store.findCustomerOrder('bob', '12345')).toBeUndefined();
  });

  it('keeps data and does not reseed when reopened', () => {
    store.insertRefund({ orderId: '12345', amountCents: 1000, reason: 'late', idempotencyKey: 'k1', createdAt: at });
    store.close();
    store = openShopStore(dbPath);
    expect(store.refundedCents('12345')).toBe(1000);
    expect(store.counts().orders).toBe(8);
    expect(store.db.prepare('SELECT COUNT(*) FROM schema_migrations').pluck().get()).toBe(1);
  });
});

describe('SQL guards', () => {
  it('refuses a refund past the order total and numbers refunds from RF-1002', () => {
    expect(store.insertRefund({ orderId: '12345', amountCents: 10000, reason: 'x', idempotencyKey: 'a', createdAt: at })).toBeUndefined();
    const refund = store.insertRefund({ orderId: '12345', amountCents: 9999, reason: 'broken', idempotencyKey: 'b', createdAt: at });
    expect(refund).toMatchObject({ id: 'RF-1002', orderId: '12345', amountCents: 9999 });
    expect(store.insertRefund({ orderId: '12345', amountCents: 1, reason: 'x', idempotencyKey: 'c', createdAt: at })).toBeUndefined();
    expect(store.listRefunds('12345')).toHaveLength(1);
  });

  it('keeps refunds.idempotency_key unique', () => {
    store.insertRefund({ orderId: '12345', amountCents: 100, reason: 'x', idempotencyKey: 'same', createdAt: at });
    expect(() =>
      store.insertRefund({ orderId: '12345', amountCents: 100, reason: 'x', idempotencyKey: 'same', createdAt: at }),
    ).toThrow(/UNIQUE/);
  });

  it('cancels and changes the address of pending orders only', () => {
    expect(store.cancelPendingOrder({ orderId: '12345', reason: null, idempotencyKey: 'c1', createdAt: at })).toBeUndefined();
    expect(store.changePendingOrderAddress({ orderId: '12345', newAddress: 'New St 1', idempotencyKey: 'a1', createdAt: at })).toBeUndefined();
    expect(store.findCustomerOrder('alice', '12345')?.status).toBe('shipped');

    const change = store.changePendingOrderAddress({ orderId: '67890', newAddress: '1 New Road, Leeds', idempotencyKey: 'a2', createdAt: at });
    expect(change).toMatchObject({ oldAddress: expect.stringContaining('Baker Street'), newAddress: '1 New Road, Leeds' });
    expect(store.cancelPendingOrder({ orderId: '67890', reason: 'changed mind', idempotencyKey: 'c2', createdAt: at })).toMatchObject({ orderId: '67890' });
    expect(store.findCustomerOrder('alice', '67890')).toMatchObject({ status: 'cancelled', shippingAddress: '1 New Road, Leeds' });
  });

  it('numbers tickets from TCK-1001', () => {
    const t = { customerId: 'alice', subject: 's', description: 'd', priority: 'normal' as const, createdAt: at };
    expect(store.insertTicket({ ...t, idempotencyKey: 't1' }).id).toBe('TCK-1001');
    expect(store.insertTicket({ ...t, idempotencyKey: 't2' }).id).toBe('TCK-1002');
  });
});

describe('resetShopStore', () => {
  it('restores the seed and clears recorded tool calls', () => {
    const seeded = store.counts();
    store.cancelPendingOrder({ orderId: '67890', reason: null, idempotencyKey: 'c', createdAt: at });
    store.insertRefund({ orderId: '12345', amountCents: 500, reason: 'x', idempotencyKey: 'r', createdAt: at });
    store.insertTicket({ customerId: 'bob', subject: 's', description: 'd', priority: 'high', idempotencyKey: 't', createdAt: at });
    store.insertToolCall({ idempotencyKey: 'r', tool: 'process_refund', customerId: 'alice', argumentsJson: '{}', resultJson: '{}', createdAt: at });

    resetShopStore(store);

    expect(store.counts()).toEqual(seeded);
    expect(store.findCustomerOrder('alice', '67890')?.status).toBe('pending');
    expect(store.refundedCents('12345')).toBe(0);
    expect(store.getToolCall('r')).toBeUndefined();
  });
});

describe('defaultShopDbPath', () => {
  const saved = process.env.SHOP_DB;
  afterEach(() => {
    if (saved === undefined) delete process.env.SHOP_DB;
    else process.env.SHOP_DB = saved;
  });

  it('uses SHOP_DB, else .data/shop.db in the repo', () => {
    process.env.SHOP_DB = '/somewhere/shop.db';
    expect(defaultShopDbPath()).toBe('/somewhere/shop.db');
    delete process.env.SHOP_DB;
    expect(defaultShopDbPath()).toBe(join(__dirname, '..', '..', '.data', 'shop.db'));
  });
});
