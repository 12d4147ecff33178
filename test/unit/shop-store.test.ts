/**
 * The shop database on its own, on both engines (SQLite file, PostgreSQL database): first open
 * creates, migrates and seeds; reopening keeps data; the SQL guards refuse what the tools also
 * refuse; reset brings the seed back. Then what only one engine has: SQLite's pragmas and
 * folder creation, PostgreSQL's lost-connection recovery and its location without a password.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  defaultShopDbPath,
  defaultShopLocation,
  isTransientStoreError,
  openShopStore,
  openSqliteStore,
  redactUrl,
  resetShopStore,
  type ShopStore,
} from '../../activities/store';
import { BACKENDS, openTestShop, testPostgres, useShopBackends, type TestShop } from '../helpers/shop-backends';

useShopBackends();

const at = '2025-02-01T12:00:00.000Z';

describe.each(BACKENDS)('shop store on %s', (backend) => {
  let shop: TestShop;
  let store: ShopStore;

  beforeEach(async () => {
    shop = await openTestShop(backend);
    store = shop.store;
  });

  afterEach(async () => {
    await store.close();
    await shop.dispose();
  });

  it('records the applied migrations', async () => {
    const rows = await store.query('SELECT version, name FROM schema_migrations ORDER BY version');
    expect(rows).toEqual([
      { version: 1, name: 'initial shop schema' },
      { version: 2, name: 'reply stream side channel' },
      { version: 3, name: 'rollback interrupts for local model steps' },
    ]);
  });

  it('seeds alice and bob with their orders', async () => {
    expect(await store.getCustomer('alice')).toMatchObject({ name: 'Alice Martin' });
    expect(await store.findCustomerOrder('alice', '12345')).toEqual({
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
    expect(await store.findCustomerOrder('alice', '67890')).toMatchObject({
      status: 'pending',
      totalCents: 14999,
      items: [expect.objectContaining({ name: 'Gadget X' })],
      trackingNumber: null,
    });
    expect(await store.findCustomerOrder('bob', '24680')).toMatchObject({ status: 'shipped', totalCents: 5900 });
    expect(await store.findCustomerOrder('bob', '13579')).toMatchObject({ status: 'pending', totalCents: 2000 });

    const statuses = (await store.query<{ status: string }>('SELECT DISTINCT status FROM orders ORDER BY status')).map(
      (r) => r.status,
    );
    expect(statuses).toEqual(['cancelled', 'delivered', 'pending', 'shipped']);
    // One partially refunded order, with its refund row.
    expect(await store.findCustomerOrder('alice', '33333')).toMatchObject({ totalCents: 8000 });
    expect(await store.refundedCents('33333')).toBe(3000);
    expect(await store.counts()).toEqual({
      tool_calls: 0,
      refunds: 1,
      cancellations: 1,
      address_changes: 0,
      support_tickets: 0,
      orders: 9,
      customers: 2,
    });
  });

  it('scopes orders to their customer', async () => {
    expect(await store.findCustomerOrder('alice', '24680')).toBeUndefined();
    expect(await store.findCustomerOrder('bob', '12345')).toBeUndefined();
  });

  it('keeps data and does not reseed or migrate again when reopened', async () => {
    await store.insertRefund({
      orderId: '12345',
      amountCents: 1000,
      reason: 'late',
      idempotencyKey: 'k1',
      createdAt: at,
    });
    await store.close();
    store = await openShopStore(shop.location);
    expect(await store.refundedCents('12345')).toBe(1000);
    expect((await store.counts()).orders).toBe(9);
    expect(await store.query('SELECT CAST(COUNT(*) AS INTEGER) AS n FROM schema_migrations')).toEqual([{ n: 3 }]);
  });

  // SQLite's equivalent (BEGIN IMMEDIATE around the migration) is only meaningful across
  // processes: two connections in one process would wait on each other synchronously.
  if (backend === 'postgres')
    it('migrates once when several pools open a database at the same moment', async () => {
      const others = await Promise.all([
        openShopStore(shop.location),
        openShopStore(shop.location),
        openShopStore(shop.location),
      ]);
      try {
        expect((await others[0]!.counts()).orders).toBe(9);
        expect(await store.query('SELECT CAST(COUNT(*) AS INTEGER) AS n FROM schema_migrations')).toEqual([{ n: 3 }]);
      } finally {
        await Promise.all(others.map((s) => s.close()));
      }
    });

  describe('SQL guards', () => {
    it('refuses a refund past the order total and numbers refunds from RF-1002', async () => {
      expect(
        await store.insertRefund({
          orderId: '12345',
          amountCents: 10000,
          reason: 'x',
          idempotencyKey: 'a',
          createdAt: at,
        }),
      ).toBeUndefined();
      const refund = await store.insertRefund({
        orderId: '12345',
        amountCents: 9999,
        reason: 'broken',
        idempotencyKey: 'b',
        createdAt: at,
      });
      expect(refund).toMatchObject({ id: 'RF-1002', orderId: '12345', amountCents: 9999 });
      expect(
        await store.insertRefund({ orderId: '12345', amountCents: 1, reason: 'x', idempotencyKey: 'c', createdAt: at }),
      ).toBeUndefined();
      expect(await store.listRefunds('12345')).toHaveLength(1);
    });

    it('keeps refunds.idempotency_key unique', async () => {
      await store.insertRefund({
        orderId: '12345',
        amountCents: 100,
        reason: 'x',
        idempotencyKey: 'same',
        createdAt: at,
      });
      await expect(
        store.insertRefund({ orderId: '12345', amountCents: 100, reason: 'x', idempotencyKey: 'same', createdAt: at }),
      ).rejects.toMatchObject({ message: expect.stringMatching(/unique/i) });
      expect(await store.listRefunds('12345')).toHaveLength(1);
    });

    it('cancels and changes the address of pending orders only', async () => {
      expect(
        await store.cancelPendingOrder({ orderId: '12345', reason: null, idempotencyKey: 'c1', createdAt: at }),
      ).toBeUndefined();
      expect(
        await store.changePendingOrderAddress({
          orderId: '12345',
          newAddress: 'New St 1',
          idempotencyKey: 'a1',
          createdAt: at,
        }),
      ).toBeUndefined();
      expect((await store.findCustomerOrder('alice', '12345'))?.status).toBe('shipped');

      const change = await store.changePendingOrderAddress({
        orderId: '67890',
        newAddress: '1 New Road, Leeds',
        idempotencyKey: 'a2',
        createdAt: at,
      });
      expect(change).toMatchObject({
        oldAddress: expect.stringContaining('Baker Street'),
        newAddress: '1 New Road, Leeds',
      });
      expect(
        await store.cancelPendingOrder({
          orderId: '67890',
          reason: 'changed mind',
          idempotencyKey: 'c2',
          createdAt: at,
        }),
      ).toMatchObject({
        orderId: '67890',
        id: expect.any(Number),
      });
      expect(await store.findCustomerOrder('alice', '67890')).toMatchObject({
        status: 'cancelled',
        shippingAddress: '1 New Road, Leeds',
      });
    });

    it('numbers tickets from TCK-1001', async () => {
      const t = { customerId: 'alice', subject: 's', description: 'd', priority: 'normal' as const, createdAt: at };
      expect((await store.insertTicket({ ...t, idempotencyKey: 't1' })).id).toBe('TCK-1001');
      expect((await store.insertTicket({ ...t, idempotencyKey: 't2' })).id).toBe('TCK-1002');
    });

    it('a transaction that throws leaves nothing behind', async () => {
      await expect(
        store.writeTransaction(async (tx) => {
          await tx.insertRefund({
            orderId: '12345',
            amountCents: 500,
            reason: 'x',
            idempotencyKey: 'r',
            createdAt: at,
          });
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await store.listRefunds('12345')).toEqual([]);
    });
  });

  it('reset restores the seed and clears recorded tool calls', async () => {
    const seeded = await store.counts();
    await store.cancelPendingOrder({ orderId: '67890', reason: null, idempotencyKey: 'c', createdAt: at });
    await store.insertRefund({ orderId: '12345', amountCents: 500, reason: 'x', idempotencyKey: 'r', createdAt: at });
    await store.insertTicket({
      customerId: 'bob',
      subject: 's',
      description: 'd',
      priority: 'high',
      idempotencyKey: 't',
      createdAt: at,
    });
    await store.insertToolCall({
      idempotencyKey: 'r',
      tool: 'process_refund',
      customerId: 'alice',
      argumentsJson: '{}',
      resultJson: '{}',
      createdAt: at,
    });

    await resetShopStore(store);

    expect(await store.counts()).toEqual(seeded);
    expect((await store.findCustomerOrder('alice', '67890'))?.status).toBe('pending');
    expect(await store.refundedCents('12345')).toBe(0);
    expect(await store.getToolCall('r')).toBeUndefined();
  });
});

describe('SQLite only', () => {
  it('creates the folder and the file, in WAL mode with a busy timeout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shop-store-'));
    const dbPath = join(dir, 'nested', 'shop.db');
    const store = await openSqliteStore(dbPath);
    try {
      expect(existsSync(dbPath)).toBe(true);
      expect(store.backend).toBe('sqlite');
      expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(store.db.pragma('busy_timeout', { simple: true })).toBeGreaterThan(0);
      expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('PostgreSQL only', () => {
  it('survives a PostgreSQL restart: the call in the gap fails as transient, the next one works', async () => {
    const shop = await openTestShop('postgres');
    try {
      expect(shop.store.backend).toBe('postgres');
      expect((await shop.store.counts()).orders).toBe(9); // a pooled connection now exists
      const pg = await testPostgres();
      await pg.restart();
      // The pool's idle connection died with the old server: either it was discarded already, or
      // the first query fails with a transient error and the next one gets a fresh connection.
      const first = await shop.store.counts().catch((err: unknown) => err);
      if (first instanceof Error) expect(isTransientStoreError(first)).toBe(true);
      expect((await shop.store.counts()).orders).toBe(9);
    } finally {
      await shop.dispose();
    }
  });

  it('an unreachable server is a transient error, and its location hides the password', async () => {
    const url = 'postgres://desk:s3cret@127.0.0.1:1/shop';
    const err = await openShopStore(url).catch((e: unknown) => e);
    expect(isTransientStoreError(err)).toBe(true);
    expect(redactUrl(url)).toBe('postgres://desk:***@127.0.0.1:1/shop');
  });
});

describe('where the shop is', () => {
  it('SHOP_DATABASE_URL wins, else SHOP_DB, else .data/shop.db in the repo', () => {
    expect(defaultShopLocation({ SHOP_DATABASE_URL: 'postgres://h/shop', SHOP_DB: '/x.db' })).toBe('postgres://h/shop');
    expect(defaultShopLocation({ SHOP_DATABASE_URL: '', SHOP_DB: '/somewhere/shop.db' })).toBe('/somewhere/shop.db');
    expect(defaultShopDbPath({})).toBe(join(__dirname, '..', '..', '.data', 'shop.db'));
    expect(defaultShopLocation({})).toBe(join(__dirname, '..', '..', '.data', 'shop.db'));
  });
});
