/**
 * The demo shop's seed: two customers (alice, bob) with orders in every status, one of them
 * partially refunded. Tests, the offline model's scripts and the README examples rely on these
 * exact ids and amounts (alice's 12345 shipped $99.99 and 67890 pending $149.99; bob's 24680;
 * bob's 86420 delivered $450.00, above the $200 refund-approval limit, for the approval scenario),
 * so change them only together with those.
 */
import type { SqlSession } from './sql';
import type { OrderItem, OrderStatus } from './types';

interface SeedOrder {
  id: string;
  customerId: string;
  status: OrderStatus;
  items: OrderItem[];
  trackingNumber: string | null;
  carrier: string | null;
  shippingAddress: string;
  createdAt: string;
}

const ALICE_ADDRESS = '12 Baker Street, London NW1 6XE, United Kingdom';
const BOB_ADDRESS = '500 Market Street, San Francisco, CA 94105, USA';

export const SEED_CUSTOMERS = [
  { id: 'alice', name: 'Alice Martin', email: 'alice@example.com', createdAt: '2024-01-10T09:00:00.000Z' },
  { id: 'bob', name: 'Bob Chen', email: 'bob@example.com', createdAt: '2024-02-03T14:30:00.000Z' },
] as const;

export const SEED_ORDERS: readonly SeedOrder[] = [
  {
    id: '12345',
    customerId: 'alice',
    status: 'shipped',
    items: [
      { sku: 'WID-A', name: 'Widget A', quantity: 1, unitPriceCents: 5999 },
      { sku: 'WID-B', name: 'Widget B', quantity: 1, unitPriceCents: 4000 },
    ],
    trackingNumber: 'TRK-98765',
    carrier: 'UPS',
    shippingAddress: ALICE_ADDRESS,
    createdAt: '2025-01-02T10:15:00.000Z',
  },
  {
    id: '67890',
    customerId: 'alice',
    status: 'pending',
    items: [{ sku: 'GAD-X', name: 'Gadget X', quantity: 1, unitPriceCents: 14999 }],
    trackingNumber: null,
    carrier: null,
    shippingAddress: ALICE_ADDRESS,
    createdAt: '2025-01-05T16:40:00.000Z',
  },
  {
    id: '11111',
    customerId: 'alice',
    status: 'delivered',
    items: [{ sku: 'CBL-C', name: 'USB-C Cable', quantity: 2, unitPriceCents: 1750 }],
    trackingNumber: 'TRK-11111',
    carrier: 'USPS',
    shippingAddress: ALICE_ADDRESS,
    createdAt: '2024-11-20T08:05:00.000Z',
  },
  {
    id: '22222',
    customerId: 'alice',
    status: 'cancelled',
    items: [{ sku: 'CAS-P', name: 'Phone Case', quantity: 1, unitPriceCents: 4200 }],
    trackingNumber: null,
    carrier: null,
    shippingAddress: ALICE_ADDRESS,
    createdAt: '2024-12-01T12:00:00.000Z',
  },
  {
    // Partially refunded: $80.00 paid, $30.00 refunded in SEED_REFUNDS.
    id: '33333',
    customerId: 'alice',
    status: 'delivered',
    items: [{ sku: 'HDP-1', name: 'Headphones', quantity: 1, unitPriceCents: 8000 }],
    trackingNumber: 'TRK-33333',
    carrier: 'DHL',
    shippingAddress: ALICE_ADDRESS,
    createdAt: '2024-12-10T18:20:00.000Z',
  },
  {
    id: '24680',
    customerId: 'bob',
    status: 'shipped',
    items: [{ sku: 'KBD-M', name: 'Mechanical Keyboard', quantity: 1, unitPriceCents: 5900 }],
    trackingNumber: 'TRK-24680',
    carrier: 'FedEx',
    shippingAddress: BOB_ADDRESS,
    createdAt: '2025-01-03T11:00:00.000Z',
  },
  {
    id: '13579',
    customerId: 'bob',
    status: 'pending',
    items: [{ sku: 'MSP-1', name: 'Mouse Pad', quantity: 1, unitPriceCents: 2000 }],
    trackingNumber: null,
    carrier: null,
    shippingAddress: BOB_ADDRESS,
    createdAt: '2025-01-06T09:30:00.000Z',
  },
  {
    id: '97531',
    customerId: 'bob',
    status: 'delivered',
    items: [{ sku: 'MON-27', name: '27-inch Monitor', quantity: 1, unitPriceCents: 12000 }],
    trackingNumber: 'TRK-97531',
    carrier: 'UPS',
    shippingAddress: BOB_ADDRESS,
    createdAt: '2024-10-15T15:45:00.000Z',
  },
  {
    // Above the default refund-approval limit ($200): a refund of it waits for a supervisor.
    id: '86420',
    customerId: 'bob',
    status: 'delivered',
    items: [{ sku: 'PRJ-4K', name: '4K Projector', quantity: 1, unitPriceCents: 45000 }],
    trackingNumber: 'TRK-86420',
    carrier: 'UPS',
    shippingAddress: BOB_ADDRESS,
    createdAt: '2025-01-08T13:10:00.000Z',
  },
];

export const SEED_REFUNDS = [
  {
    id: 'RF-1001',
    orderId: '33333',
    amountCents: 3000,
    reason: 'Left ear cup arrived scratched',
    idempotencyKey: 'seed:refund:33333',
    createdAt: '2024-12-20T10:00:00.000Z',
  },
] as const;

export const SEED_CANCELLATIONS = [
  {
    orderId: '22222',
    reason: 'Ordered the wrong model',
    idempotencyKey: 'seed:cancel:22222',
    createdAt: '2024-12-01T13:00:00.000Z',
  },
] as const;

/** Inserts the seed rows. The caller owns the transaction and guarantees the tables are empty. */
export async function insertSeed(sql: SqlSession): Promise<void> {
  for (const c of SEED_CUSTOMERS) {
    await sql.run('INSERT INTO customers (id, name, email, created_at) VALUES (?, ?, ?, ?)', [
      c.id,
      c.name,
      c.email,
      c.createdAt,
    ]);
  }
  for (const o of SEED_ORDERS) {
    // The total is derived from the items so the two cannot disagree.
    const totalCents = o.items.reduce((sum, i) => sum + i.quantity * i.unitPriceCents, 0);
    await sql.run(
      `INSERT INTO orders (id, customer_id, status, total_cents, items, tracking_number, carrier, shipping_address, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        o.id,
        o.customerId,
        o.status,
        totalCents,
        JSON.stringify(o.items),
        o.trackingNumber,
        o.carrier,
        o.shippingAddress,
        o.createdAt,
      ],
    );
  }
  for (const r of SEED_REFUNDS) {
    await sql.run(
      'INSERT INTO refunds (id, order_id, amount_cents, reason, idempotency_key, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      [r.id, r.orderId, r.amountCents, r.reason, r.idempotencyKey, r.createdAt],
    );
  }
  for (const c of SEED_CANCELLATIONS) {
    await sql.run('INSERT INTO cancellations (order_id, reason, idempotency_key, created_at) VALUES (?, ?, ?, ?)', [
      c.orderId,
      c.reason,
      c.idempotencyKey,
      c.createdAt,
    ]);
  }
}
