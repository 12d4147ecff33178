/**
 * What both backends share: the `ShopStore` interface and `storeOnBackend`, which builds all of it
 * (queries, rules, reset, one-call-one-transaction helpers) from a backend that only knows how
 * to run a transaction on a `SqlSession`.
 */
import { deleteAllRows, shopQueries, type ShopQueries } from './queries';
import { interruptStore, type InterruptStore } from './interrupts';
import { replyChunkStore, type ReplyChunkStore } from './reply-chunks';
import { insertSeed } from './seed';
import type { Dialect, SqlSession } from './sql';

export interface ShopStore extends ShopQueries {
  readonly backend: Dialect;
  /** Where the data is: the SQLite file, or the PostgreSQL URL without its password. */
  readonly location: string;
  /**
   * Runs `fn` in a write transaction and commits what it did, or rolls it all back if it throws.
   * SQLite: BEGIN IMMEDIATE (the write lock is taken before the first read). PostgreSQL: READ
   * COMMITTED with the row and advisory locks queries.ts takes.
   */
  writeTransaction<T>(fn: (tx: ShopQueries) => Promise<T>): Promise<T>;
  /** Runs `fn` in a read-only transaction: one consistent snapshot for several reads. */
  readTransaction<T>(fn: (tx: ShopQueries) => Promise<T>): Promise<T>;
  /** A read-only query with `?` placeholders, for tests and operators (the same SQL on both engines). */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Deletes every shop row (tool_calls included) and inserts the seed again, in one transaction. */
  reset(): Promise<void>;
  /** The reply stream's side channel (`reply_chunks`); not shop data, so `reset` leaves it alone. */
  readonly replies: ReplyChunkStore;
  /** Rollbacks signalled to conversations, for their local model steps (`interrupts`); not shop data either. */
  readonly interrupts: InterruptStore;
  close(): Promise<void>;
}

/** What a backend provides: transactions on a `SqlSession`, a read query, and closing. */
export interface ShopBackend {
  readonly dialect: Dialect;
  readonly location: string;
  /** Runs `fn` in a transaction of the given mode; commits if it resolves, rolls back if it throws. */
  withSession<T>(mode: SqlSession['mode'], fn: (sql: SqlSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The whole `ShopStore` from a backend: the queries, the rules and reset are the same for both. */
export function storeOnBackend(backend: ShopBackend): ShopStore {
  const write = <T>(fn: (tx: ShopQueries) => Promise<T>) => backend.withSession('write', (sql) => fn(shopQueries(sql)));
  const read = <T>(fn: (tx: ShopQueries) => Promise<T>) => backend.withSession('read', (sql) => fn(shopQueries(sql)));
  return {
    backend: backend.dialect,
    location: backend.location,
    writeTransaction: write,
    readTransaction: read,
    query: (text, params) => backend.withSession('read', (sql) => sql.all(text, params)),
    reset: () =>
      backend.withSession('write', async (sql) => {
        await deleteAllRows(sql);
        await insertSeed(sql);
      }),
    replies: replyChunkStore((mode, fn) => backend.withSession(mode, fn)),
    interrupts: interruptStore((mode, fn) => backend.withSession(mode, fn)),
    close: () => backend.close(),

    // One transaction per call, for callers outside a tool (scripts, tests).
    getCustomer: (id) => read((tx) => tx.getCustomer(id)),
    findCustomerOrder: (customerId, orderId) => read((tx) => tx.findCustomerOrder(customerId, orderId)),
    listRefunds: (orderId) => read((tx) => tx.listRefunds(orderId)),
    refundedCents: (orderId) => read((tx) => tx.refundedCents(orderId)),
    listTickets: (customerId) => read((tx) => tx.listTickets(customerId)),
    insertRefund: (input) => write((tx) => tx.insertRefund(input)),
    cancelPendingOrder: (input) => write((tx) => tx.cancelPendingOrder(input)),
    changePendingOrderAddress: (input) => write((tx) => tx.changePendingOrderAddress(input)),
    insertTicket: (input) => write((tx) => tx.insertTicket(input)),
    getToolCall: (key) => read((tx) => tx.getToolCall(key)),
    insertToolCall: (record) => write((tx) => tx.insertToolCall(record)),
    counts: () => read((tx) => tx.counts()),
  };
}
