/**
 * The shop database: one better-sqlite3 connection per process, WAL mode so readers never block
 * the writer, a busy timeout so a second process waits instead of failing at once, and typed
 * queries over the tables in migrations.ts. Business rules live in the tools; this file adds the
 * last line of defence in SQL (conditional writes that cannot over-refund, cancel a shipped
 * order or change its address) so no code path can break them, even outside a tool.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import Database from 'better-sqlite3';
import { z } from 'zod';

import { MIGRATIONS } from './migrations';
import { insertSeed } from './seed';
import {
  SHOP_TABLES,
  type AddressChange,
  type Cancellation,
  type Customer,
  type Order,
  type OrderStatus,
  type Refund,
  type ShopTable,
  type SupportTicket,
  type TicketPriority,
  type ToolCallRecord,
} from './types';

/** How long a writer waits for another process's lock before SQLITE_BUSY (then Temporal retries). */
const BUSY_TIMEOUT_MS = 5_000;

export interface ShopStore {
  readonly db: Database.Database;
  /** The file this store was opened from. */
  readonly path: string;
  /** Runs `fn` in a `BEGIN IMMEDIATE` transaction: the write lock is taken before the first read. */
  writeTransaction<T>(fn: () => T): T;
  /** Runs `fn` in a deferred transaction: one consistent snapshot for several reads. */
  readTransaction<T>(fn: () => T): T;

  getCustomer(id: string): Customer | undefined;
  /** The order only if it belongs to `customerId`: another customer's order is indistinguishable from a missing one. */
  findCustomerOrder(customerId: string, orderId: string): Order | undefined;
  listRefunds(orderId: string): Refund[];
  refundedCents(orderId: string): number;
  listTickets(customerId: string): SupportTicket[];

  /** Inserts a refund unless it would take the refunded total past the order total; `undefined` then. */
  insertRefund(input: NewRefund): Refund | undefined;
  /** Cancels the order if it is still pending; `undefined` otherwise. */
  cancelPendingOrder(input: NewCancellation): Cancellation | undefined;
  /** Changes the shipping address if the order is still pending; `undefined` otherwise. */
  changePendingOrderAddress(input: NewAddressChange): AddressChange | undefined;
  insertTicket(input: NewTicket): SupportTicket;

  getToolCall(idempotencyKey: string): ToolCallRecord | undefined;
  insertToolCall(record: ToolCallRecord): void;

  counts(): Record<ShopTable, number>;
  close(): void;
}

export interface NewRefund {
  orderId: string;
  amountCents: number;
  reason: string;
  idempotencyKey: string;
  createdAt: string;
}

export interface NewCancellation {
  orderId: string;
  reason: string | null;
  idempotencyKey: string;
  createdAt: string;
}

export interface NewAddressChange {
  orderId: string;
  newAddress: string;
  idempotencyKey: string;
  createdAt: string;
}

export interface NewTicket {
  customerId: string;
  subject: string;
  description: string;
  priority: TicketPriority;
  idempotencyKey: string;
  createdAt: string;
}

/** `$SHOP_DB`, else `<repo>/.data/shop.db` (git-ignored). An empty `SHOP_DB` counts as unset. */
export function defaultShopDbPath(): string {
  return process.env.SHOP_DB || resolve(__dirname, '..', '..', '.data', 'shop.db');
}

/** Opens (creating, migrating and seeding on first use) the shop database at `path`. */
export function openShopStore(path: string): ShopStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('foreign_keys = ON');
    // FULL: a committed refund survives a power cut, not only a process crash.
    db.pragma('synchronous = FULL');
    migrate(db);
    return createStore(db, path);
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Deletes every shop row (tool_calls included) and inserts the seed again, in one transaction. */
export function resetShopStore(store: ShopStore): void {
  store.writeTransaction(() => {
    for (const table of SHOP_TABLES) store.db.prepare(`DELETE FROM ${table}`).run();
    insertSeed(store.db);
  });
}

function migrate(db: Database.Database): void {
  // Immediate: the version check and the migrations it decides on happen under one write lock.
  db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
    const { current } = db.prepare('SELECT COALESCE(MAX(version), 0) AS current FROM schema_migrations').get() as {
      current: number;
    };
    const latest = MIGRATIONS.at(-1)?.version ?? 0;
    if (current > latest) {
      throw new Error(`shop database is at schema version ${current}, newer than this code (${latest})`);
    }
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      db.exec(m.sql);
      record.run(m.version, m.name, new Date().toISOString());
    }
    if (current === 0) insertSeed(db);
  }).immediate();
}

interface OrderRow {
  id: string;
  customer_id: string;
  status: OrderStatus;
  total_cents: number;
  items: string;
  tracking_number: string | null;
  carrier: string | null;
  shipping_address: string;
  created_at: string;
}

interface RefundRow {
  id: string;
  order_id: string;
  amount_cents: number;
  reason: string;
  idempotency_key: string;
  created_at: string;
}

interface TicketRow {
  id: string;
  customer_id: string;
  subject: string;
  description: string;
  priority: TicketPriority;
  status: SupportTicket['status'];
  idempotency_key: string;
  created_at: string;
}

interface ToolCallRow {
  idempotency_key: string;
  tool: string;
  customer_id: string;
  arguments_json: string;
  result_json: string;
  created_at: string;
}

// Items are JSON in the row; checking them on read turns a corrupt row into a clear error.
const orderItemsSchema = z.array(
  z.object({ sku: z.string(), name: z.string(), quantity: z.number().int(), unitPriceCents: z.number().int() }),
);

function toOrder(row: OrderRow): Order {
  return {
    id: row.id,
    customerId: row.customer_id,
    status: row.status,
    totalCents: row.total_cents,
    items: orderItemsSchema.parse(JSON.parse(row.items)),
    trackingNumber: row.tracking_number,
    carrier: row.carrier,
    shippingAddress: row.shipping_address,
    createdAt: row.created_at,
  };
}

function toRefund(row: RefundRow): Refund {
  return {
    id: row.id,
    orderId: row.order_id,
    amountCents: row.amount_cents,
    reason: row.reason,
    idempotencyKey: row.idempotency_key,
    createdAt: row.created_at,
  };
}

function toTicket(row: TicketRow): SupportTicket {
  return {
    id: row.id,
    customerId: row.customer_id,
    subject: row.subject,
    description: row.description,
    priority: row.priority,
    status: row.status,
    idempotencyKey: row.idempotency_key,
    createdAt: row.created_at,
  };
}

function createStore(db: Database.Database, path: string): ShopStore {
  const q = {
    customer: db.prepare('SELECT id, name, email, created_at AS createdAt FROM customers WHERE id = ?'),
    order: db.prepare('SELECT * FROM orders WHERE id = ? AND customer_id = ?'),
    refunds: db.prepare('SELECT * FROM refunds WHERE order_id = ? ORDER BY created_at, id'),
    refunded: db.prepare('SELECT COALESCE(SUM(amount_cents), 0) AS cents FROM refunds WHERE order_id = ?'),
    tickets: db.prepare('SELECT * FROM support_tickets WHERE customer_id = ? ORDER BY id'),
    nextRefundNumber: db.prepare(
      "SELECT COALESCE(MAX(CAST(substr(id, 4) AS INTEGER)), 1000) + 1 AS n FROM refunds WHERE id LIKE 'RF-%'",
    ),
    nextTicketNumber: db.prepare(
      "SELECT COALESCE(MAX(CAST(substr(id, 5) AS INTEGER)), 1000) + 1 AS n FROM support_tickets WHERE id LIKE 'TCK-%'",
    ),
    // The over-refund guard in SQL: the row is inserted only if the new refunded total fits.
    insertRefund: db.prepare(`
      INSERT INTO refunds (id, order_id, amount_cents, reason, idempotency_key, created_at)
      SELECT @id, o.id, @amountCents, @reason, @idempotencyKey, @createdAt FROM orders o
      WHERE o.id = @orderId
        AND @amountCents > 0
        AND (SELECT COALESCE(SUM(r.amount_cents), 0) FROM refunds r WHERE r.order_id = o.id) + @amountCents <= o.total_cents`),
    refundById: db.prepare('SELECT * FROM refunds WHERE id = ?'),
    cancelIfPending: db.prepare("UPDATE orders SET status = 'cancelled' WHERE id = ? AND status = 'pending'"),
    insertCancellation: db.prepare(
      'INSERT INTO cancellations (order_id, reason, idempotency_key, created_at) VALUES (?, ?, ?, ?)',
    ),
    addressOf: db.prepare('SELECT shipping_address AS address FROM orders WHERE id = ?'),
    changeAddressIfPending: db.prepare(
      "UPDATE orders SET shipping_address = ? WHERE id = ? AND status = 'pending'",
    ),
    insertAddressChange: db.prepare(
      'INSERT INTO address_changes (order_id, old_address, new_address, idempotency_key, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    insertTicket: db.prepare(
      `INSERT INTO support_tickets (id, customer_id, subject, description, priority, status, idempotency_key, created_at)
       VALUES (?, ?, ?, ?, ?, 'open', ?, ?)`,
    ),
    ticketById: db.prepare('SELECT * FROM support_tickets WHERE id = ?'),
    toolCall: db.prepare('SELECT * FROM tool_calls WHERE idempotency_key = ?'),
    insertToolCall: db.prepare(
      `INSERT INTO tool_calls (idempotency_key, tool, customer_id, arguments_json, result_json, created_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
  };

  const store: ShopStore = {
    db,
    path,
    writeTransaction: (fn) => db.transaction(fn).immediate(),
    readTransaction: (fn) => db.transaction(fn).deferred(),

    getCustomer: (id) => q.customer.get(id) as Customer | undefined,

    findCustomerOrder(customerId, orderId) {
      const row = q.order.get(orderId, customerId) as OrderRow | undefined;
      return row && toOrder(row);
    },

    listRefunds: (orderId) => (q.refunds.all(orderId) as RefundRow[]).map(toRefund),

    refundedCents: (orderId) => (q.refunded.get(orderId) as { cents: number }).cents,

    listTickets: (customerId) => (q.tickets.all(customerId) as TicketRow[]).map(toTicket),

    insertRefund(input) {
      return store.writeTransaction(() => {
        const { n } = q.nextRefundNumber.get() as { n: number };
        const id = `RF-${n}`;
        const { changes } = q.insertRefund.run({ id, ...input });
        if (changes === 0) return undefined;
        return toRefund(q.refundById.get(id) as RefundRow);
      });
    },

    cancelPendingOrder(input) {
      return store.writeTransaction(() => {
        if (q.cancelIfPending.run(input.orderId).changes === 0) return undefined;
        const { lastInsertRowid } = q.insertCancellation.run(input.orderId, input.reason, input.idempotencyKey, input.createdAt);
        return { id: Number(lastInsertRowid), ...input };
      });
    },

    changePendingOrderAddress(input) {
      return store.writeTransaction(() => {
        const current = q.addressOf.get(input.orderId) as { address: string } | undefined;
        if (!current) return undefined;
        if (q.changeAddressIfPending.run(input.newAddress, input.orderId).changes === 0) return undefined;
        const { lastInsertRowid } = q.insertAddressChange.run(
          input.orderId, current.address, input.newAddress, input.idempotencyKey, input.createdAt,
        );
        return {
          id: Number(lastInsertRowid),
          orderId: input.orderId,
          oldAddress: current.address,
          newAddress: input.newAddress,
          idempotencyKey: input.idempotencyKey,
          createdAt: input.createdAt,
        };
      });
    },

    insertTicket(input) {
      return store.writeTransaction(() => {
        const { n } = q.nextTicketNumber.get() as { n: number };
        const id = `TCK-${n}`;
        q.insertTicket.run(id, input.customerId, input.subject, input.description, input.priority, input.idempotencyKey, input.createdAt);
        return toTicket(q.ticketById.get(id) as TicketRow);
      });
    },

    getToolCall(idempotencyKey) {
      const row = q.toolCall.get(idempotencyKey) as ToolCallRow | undefined;
      return (
        row && {
          idempotencyKey: row.idempotency_key,
          tool: row.tool,
          customerId: row.customer_id,
          argumentsJson: row.arguments_json,
          resultJson: row.result_json,
          createdAt: row.created_at,
        }
      );
    },

    insertToolCall(r) {
      q.insertToolCall.run(r.idempotencyKey, r.tool, r.customerId, r.argumentsJson, r.resultJson, r.createdAt);
    },

    counts() {
      const counts = {} as Record<ShopTable, number>;
      for (const table of SHOP_TABLES) {
        counts[table] = (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
      }
      return counts;
    },

    close: () => db.close(),
  };
  return store;
}
