/**
 * The shop schema as an ordered list of migrations, the same list for SQLite and PostgreSQL. Each
 * runs once, in order, inside one write transaction with its row in `schema_migrations` (SQLite:
 * BEGIN IMMEDIATE; PostgreSQL: an advisory lock first), so two processes opening a fresh database
 * at the same moment cannot both apply it. Never edit a shipped migration: append one. The two
 * column types the engines spell differently are placeholders rendered by `migrationSql`; for
 * SQLite migration 1 renders to exactly the text it shipped with.
 * Money is integer cents everywhere; timestamps are ISO-8601 UTC text.
 */
import type { Dialect, SqlSession } from './sql';

export interface Migration {
  readonly version: number;
  readonly name: string;
  /**
   * DDL with `{{id}}` (an auto-numbered integer key), `{{serial}}` (one whose numbers are never
   * reused, 64-bit in PostgreSQL) and `{{json:<column>}}` (a JSON-text check).
   */
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
        items            TEXT NOT NULL CHECK ({{json:items}}),
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
        id              {{id}},
        order_id        TEXT NOT NULL UNIQUE REFERENCES orders(id),
        reason          TEXT,
        idempotency_key TEXT NOT NULL UNIQUE,
        created_at      TEXT NOT NULL
      );

      CREATE TABLE address_changes (
        id              {{id}},
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
  {
    version: 2,
    name: 'reply stream side channel',
    // Not shop data: the text of model replies while they stream (activities/reply-stream.ts),
    // pruned after an hour. AUTOINCREMENT (SQLite) and an identity (PostgreSQL) never hand out an
    // id twice, so a reader's cursor (`id > afterId`) cannot miss rows written after a prune.
    sql: `
      CREATE TABLE reply_chunks (
        id              {{serial}},
        conversation_id TEXT NOT NULL,
        step            TEXT NOT NULL,
        attempt         INTEGER NOT NULL,
        seq             INTEGER NOT NULL,
        content         TEXT NOT NULL,
        is_final        INTEGER NOT NULL CHECK (is_final IN (0, 1)),
        created_at      TEXT NOT NULL,
        UNIQUE (conversation_id, step, attempt, seq)
      );
      CREATE INDEX reply_chunks_conversation ON reply_chunks(conversation_id, id);
      CREATE INDEX reply_chunks_created ON reply_chunks(created_at);
    `,
  },
  {
    version: 3,
    name: 'rollback interrupts for local model steps',
    // Not shop data: a row per rollback a desk client signalled, which a model step running as a
    // local activity watches for (activities/store/interrupts.ts); pruned after an hour.
    sql: `
      CREATE TABLE interrupts (
        id              {{serial}},
        conversation_id TEXT NOT NULL,
        created_at      TEXT NOT NULL
      );
      CREATE INDEX interrupts_conversation ON interrupts(conversation_id, created_at);
    `,
  },
];

/** A migration's DDL for one engine. */
export function migrationSql(m: Migration, dialect: Dialect): string {
  return m.sql
    .replace(
      /\{\{id\}\}/g,
      dialect === 'sqlite' ? 'INTEGER PRIMARY KEY' : 'INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY',
    )
    .replace(
      /\{\{serial\}\}/g,
      dialect === 'sqlite' ? 'INTEGER PRIMARY KEY AUTOINCREMENT' : 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY',
    )
    .replace(/\{\{json:(\w+)\}\}/g, (_m, col: string) =>
      dialect === 'sqlite' ? `json_valid(${col})` : `${col}::jsonb IS NOT NULL`,
    );
}

/** The bookkeeping table, in SQL both engines accept. */
export const SCHEMA_MIGRATIONS_DDL = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`;

/**
 * Brings the schema up to date inside the caller's write transaction (the caller has taken the
 * migration lock). Seeds a database that had no schema at all. Refuses a database newer than this code.
 */
export async function migrate(
  sql: SqlSession,
  exec: (ddl: string) => Promise<void>,
  seed: (sql: SqlSession) => Promise<void>,
): Promise<void> {
  await exec(SCHEMA_MIGRATIONS_DDL);
  const row = await sql.get<{ current: number }>(
    'SELECT CAST(COALESCE(MAX(version), 0) AS INTEGER) AS current FROM schema_migrations',
  );
  const current = row?.current ?? 0;
  const latest = MIGRATIONS.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new Error(`shop database is at schema version ${current}, newer than this code (${latest})`);
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    await exec(migrationSql(m, sql.dialect));
    await sql.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
      m.version,
      m.name,
      new Date().toISOString(),
    ]);
  }
  if (current === 0) await seed(sql);
}
