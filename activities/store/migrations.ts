/**
 * The shop schema as an ordered list of migrations. Each runs once, in order, inside one
 * immediate transaction with its row in `schema_migrations`, so two processes opening a fresh
 * database at the same moment cannot both apply it. Never edit a shipped migration: append one.
 * Money is integer cents everywhere; timestamps are ISO-8601 UTC text.
 */

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial shop schema',
    sql: `
      CREATE TABLE customers (
        id         TEXT PRIMARY KEY,
        name       TEXT NOT NULL,
        email      TEXT NOT NULL,
        created_at TEXT NOT NULL
      );

      CREATE TABLE orders (
        id               TEXT PRIMARY KEY,
        customer_id      TEXT NOT NULL REFERENCES customers(id),
        status           TEXT NOT NULL CHECK (status IN ('pending', 'shipped', 'delivered', 'cancelled')),
        total_cents      INTEGER NOT NULL CHECK (total_cents >= 0),
        items            TEXT NOT NULL CHECK (json_valid(items)),
        tracking_number  TEXT,
        carrier          TEXT,
        shipping_address TEXT NOT NULL,
        created_at       TEXT NOT NULL
      );
      CREATE INDEX orders_customer ON orders(customer_id);

      -- idempotency_key is UNIQUE as a second line behind tool_calls: one key, one refund.
      CREATE TABLE refunds (
        id              TEXT PRIMARY KEY,
        order_id        TEXT NOT NULL REFERENCES orders(id),
        amount_cents    INTEGER NOT NULL CHECK (amount_cents > 0),
        reason          TEXT NOT NULL,
        idempotency_key TEXT NOT NULL UNIQUE,
        created_at      TEXT NOT NULL
      );
      CREATE INDEX refunds_order ON refunds(order_id);

      CREATE TABLE cancellations (
        id              INTEGER PRIMARY KEY,
        order_id        TEXT NOT NULL UNIQUE REFERENCES orders(id),
        reason          TEXT,
        idempotency_key TEXT NOT NULL UNIQUE,
        created_at      TEXT NOT NULL
      );

      CREATE TABLE address_changes (
        id              INTEGER PRIMARY KEY,
        order_id        TEXT NOT NULL REFERENCES orders(id),
        old_address     TEXT NOT NULL,
        new_address     TEXT NOT NULL,
        idempotency_key TEXT NOT NULL UNIQUE,
        created_at      TEXT NOT NULL
      );

      -- No foreign key on customer_id: a guest the shop does not know may still file a ticket.
      CREATE TABLE support_tickets (
        id              TEXT PRIMARY KEY,
        customer_id     TEXT NOT NULL,
        subject         TEXT NOT NULL,
        description     TEXT NOT NULL,
        priority        TEXT NOT NULL CHECK (priority IN ('low', 'normal', 'high')),
        status          TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending', 'closed')),
        idempotency_key TEXT NOT NULL UNIQUE,
        created_at      TEXT NOT NULL
      );

      -- The outcome of every mutating tool call, keyed by the workflow-built idempotency key:
      -- a retried activity returns this instead of acting twice.
      CREATE TABLE tool_calls (
        idempotency_key TEXT PRIMARY KEY,
        tool            TEXT NOT NULL,
        customer_id     TEXT NOT NULL,
        arguments_json  TEXT NOT NULL,
        result_json     TEXT NOT NULL,
        created_at      TEXT NOT NULL
      );
    `,
  },
];
