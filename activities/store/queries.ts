/**
 * Every shop query, written once for both engines, on a transaction-scoped `SqlSession`. Business
 * rules live in the tools; this file adds the last line of defence in SQL (conditional writes that
 * cannot over-refund, cancel a shipped order or change its address) so no code path can break
 * them, even outside a tool, and the locking that makes "check, then write" hold between
 * processes on PostgreSQL:
 *
 * - `getToolCall` in a write transaction first locks the idempotency key, so two attempts of the
 *   same call (a retry racing a slow first attempt on another worker) run one after the other and
 *   the second replays the first's recorded outcome;
 * - `findCustomerOrder` in a write transaction locks the order row (`FOR UPDATE`), so the refund
 *   cap and the pending-only rules are checked against the latest committed refunds and status;
 * - refund and ticket numbers are taken under a lock of their own.
 *
 * PostgreSQL runs write transactions at READ COMMITTED, so after a lock wait each statement sees
 * what the lock holder committed. On SQLite, BEGIN IMMEDIATE makes every write transaction the
 * only writer, and the locks are no-ops. Locks are always taken in the order key, order, number,
 * so two transactions cannot deadlock on them.
 */
import { z } from 'zod';

import type { SqlSession } from './sql';
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

/** The shop's reads and guarded writes, all in the transaction of the session they were made from. */
export interface ShopQueries {
  getCustomer(id: string): Promise<Customer | undefined>;
  /**
   * The order only if it belongs to `customerId`: another customer's order is indistinguishable
   * from a missing one. In a write transaction the order row stays locked until it ends.
   */
  findCustomerOrder(customerId: string, orderId: string): Promise<Order | undefined>;
  listRefunds(orderId: string): Promise<Refund[]>;
  refundedCents(orderId: string): Promise<number>;
  listTickets(customerId: string): Promise<SupportTicket[]>;

  /** Inserts a refund unless it would take the refunded total past the order total; `undefined` then. */
  insertRefund(input: NewRefund): Promise<Refund | undefined>;
  /** Cancels the order if it is still pending; `undefined` otherwise. */
  cancelPendingOrder(input: NewCancellation): Promise<Cancellation | undefined>;
  /** Changes the shipping address if the order is still pending; `undefined` otherwise. */
  changePendingOrderAddress(input: NewAddressChange): Promise<AddressChange | undefined>;
  insertTicket(input: NewTicket): Promise<SupportTicket>;

  /** The recorded outcome of a key; in a write transaction the key stays locked until it ends. */
  getToolCall(idempotencyKey: string): Promise<ToolCallRecord | undefined>;
  insertToolCall(record: ToolCallRecord): Promise<void>;

  counts(): Promise<Record<ShopTable, number>>;
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

// Aggregates are cast to INTEGER: PostgreSQL's SUM and COUNT are bigint, which `pg` returns as text.
const SQL = {
  customer: 'SELECT id, name, email, created_at FROM customers WHERE id = ?',
  order: 'SELECT * FROM orders WHERE id = ? AND customer_id = ?',
  refunds: 'SELECT * FROM refunds WHERE order_id = ? ORDER BY created_at, id',
  refunded: 'SELECT CAST(COALESCE(SUM(amount_cents), 0) AS INTEGER) AS cents FROM refunds WHERE order_id = ?',
  tickets: 'SELECT * FROM support_tickets WHERE customer_id = ? ORDER BY id',
  nextRefundNumber:
    "SELECT COALESCE(MAX(CAST(substr(id, 4) AS INTEGER)), 1000) + 1 AS n FROM refunds WHERE id LIKE 'RF-%'",
  nextTicketNumber:
    "SELECT COALESCE(MAX(CAST(substr(id, 5) AS INTEGER)), 1000) + 1 AS n FROM support_tickets WHERE id LIKE 'TCK-%'",
  // The over-refund guard in SQL: the row is inserted only if the new refunded total fits. The
  // casts give PostgreSQL the parameters' types, which it cannot infer in a SELECT list.
  insertRefund: `
    INSERT INTO refunds (id, order_id, amount_cents, reason, idempotency_key, created_at)
    SELECT CAST(? AS TEXT), o.id, CAST(? AS INTEGER), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT) FROM orders o
    WHERE o.id = ?
      AND CAST(? AS INTEGER) > 0
      AND (SELECT COALESCE(SUM(r.amount_cents), 0) FROM refunds r WHERE r.order_id = o.id) + CAST(? AS INTEGER) <= o.total_cents`,
  refundById: 'SELECT * FROM refunds WHERE id = ?',
  cancelIfPending: "UPDATE orders SET status = 'cancelled' WHERE id = ? AND status = 'pending'",
  insertCancellation:
    'INSERT INTO cancellations (order_id, reason, idempotency_key, created_at) VALUES (?, ?, ?, ?) RETURNING id',
  addressOf: 'SELECT shipping_address AS address FROM orders WHERE id = ?',
  changeAddressIfPending: "UPDATE orders SET shipping_address = ? WHERE id = ? AND status = 'pending'",
  insertAddressChange:
    'INSERT INTO address_changes (order_id, old_address, new_address, idempotency_key, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id',
  insertTicket: `INSERT INTO support_tickets (id, customer_id, subject, description, priority, status, idempotency_key, created_at)
    VALUES (?, ?, ?, ?, ?, 'open', ?, ?)`,
  ticketById: 'SELECT * FROM support_tickets WHERE id = ?',
  toolCall: 'SELECT * FROM tool_calls WHERE idempotency_key = ?',
  insertToolCall: `INSERT INTO tool_calls (idempotency_key, tool, customer_id, arguments_json, result_json, created_at)
    VALUES (?, ?, ?, ?, ?, ?)`,
} as const;

/** The shop's queries on one transaction. */
export function shopQueries(sql: SqlSession): ShopQueries {
  const writing = sql.mode === 'write';
  const forUpdate = writing && sql.dialect === 'postgres' ? ' FOR UPDATE' : '';

  return {
    async getCustomer(id) {
      const row = await sql.get<{ id: string; name: string; email: string; created_at: string }>(SQL.customer, [id]);
      return row && { id: row.id, name: row.name, email: row.email, createdAt: row.created_at };
    },

    async findCustomerOrder(customerId, orderId) {
      const row = await sql.get<OrderRow>(SQL.order + forUpdate, [orderId, customerId]);
      return row && toOrder(row);
    },

    listRefunds: async (orderId) => (await sql.all<RefundRow>(SQL.refunds, [orderId])).map(toRefund),

    refundedCents: async (orderId) => (await sql.get<{ cents: number }>(SQL.refunded, [orderId]))?.cents ?? 0,

    listTickets: async (customerId) => (await sql.all<TicketRow>(SQL.tickets, [customerId])).map(toTicket),

    async insertRefund(input) {
      // Same lock order as the tools: the order row first, then the refund numbering.
      await sql.get(SQL.order.replace(' AND customer_id = ?', '') + forUpdate, [input.orderId]);
      await sql.lock('shop:refund-number');
      const { n } = (await sql.get<{ n: number }>(SQL.nextRefundNumber))!;
      const id = `RF-${n}`;
      const { changes } = await sql.run(SQL.insertRefund, [
        id,
        input.amountCents,
        input.reason,
        input.idempotencyKey,
        input.createdAt,
        input.orderId,
        input.amountCents,
        input.amountCents,
      ]);
      if (changes === 0) return undefined;
      return toRefund((await sql.get<RefundRow>(SQL.refundById, [id]))!);
    },

    async cancelPendingOrder(input) {
      if ((await sql.run(SQL.cancelIfPending, [input.orderId])).changes === 0) return undefined;
      const row = await sql.get<{ id: number }>(SQL.insertCancellation, [
        input.orderId,
        input.reason,
        input.idempotencyKey,
        input.createdAt,
      ]);
      return { id: Number(row!.id), ...input };
    },

    async changePendingOrderAddress(input) {
      const current = await sql.get<{ address: string }>(SQL.addressOf + forUpdate, [input.orderId]);
      if (!current) return undefined;
      if ((await sql.run(SQL.changeAddressIfPending, [input.newAddress, input.orderId])).changes === 0)
        return undefined;
      const row = await sql.get<{ id: number }>(SQL.insertAddressChange, [
        input.orderId,
        current.address,
        input.newAddress,
        input.idempotencyKey,
        input.createdAt,
      ]);
      return {
        id: Number(row!.id),
        orderId: input.orderId,
        oldAddress: current.address,
        newAddress: input.newAddress,
        idempotencyKey: input.idempotencyKey,
        createdAt: input.createdAt,
      };
    },

    async insertTicket(input) {
      await sql.lock('shop:ticket-number');
      const { n } = (await sql.get<{ n: number }>(SQL.nextTicketNumber))!;
      const id = `TCK-${n}`;
      await sql.run(SQL.insertTicket, [
        id,
        input.customerId,
        input.subject,
        input.description,
        input.priority,
        input.idempotencyKey,
        input.createdAt,
      ]);
      return toTicket((await sql.get<TicketRow>(SQL.ticketById, [id]))!);
    },

    async getToolCall(idempotencyKey) {
      if (writing) await sql.lock(`shop:tool-call:${idempotencyKey}`);
      const row = await sql.get<ToolCallRow>(SQL.toolCall, [idempotencyKey]);
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

    async insertToolCall(r) {
      await sql.run(SQL.insertToolCall, [
        r.idempotencyKey,
        r.tool,
        r.customerId,
        r.argumentsJson,
        r.resultJson,
        r.createdAt,
      ]);
    },

    async counts() {
      const counts = {} as Record<ShopTable, number>;
      for (const table of SHOP_TABLES) {
        counts[table] = (await sql.get<{ n: number }>(`SELECT CAST(COUNT(*) AS INTEGER) AS n FROM ${table}`))!.n;
      }
      return counts;
    },
  };
}

/** Deletes every shop row (tool_calls included); the caller owns the write transaction. */
export async function deleteAllRows(sql: SqlSession): Promise<void> {
  for (const table of SHOP_TABLES) await sql.run(`DELETE FROM ${table}`);
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
