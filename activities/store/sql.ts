/**
 * The one seam between the shop's SQL and its two engines. Every query in queries.ts, the
 * migrations and the seed are written once, in the SQL both SQLite and PostgreSQL accept, with `?`
 * placeholders; a backend (sqlite.ts, postgres.ts) runs them through this interface inside one
 * transaction. The few things the engines do differently are named here, not scattered:
 * `lock` (PostgreSQL advisory lock; SQLite's BEGIN IMMEDIATE already holds the one write lock) and
 * `forUpdate` (row locks exist only in PostgreSQL).
 */

export type Dialect = 'sqlite' | 'postgres';

/** A transaction-scoped handle: every call runs in the transaction that created it. */
export interface SqlSession {
  readonly dialect: Dialect;
  /** `write` transactions may change rows and take locks; `read` ones see one consistent snapshot. */
  readonly mode: 'read' | 'write';
  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  get<T>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  /** For INSERT / UPDATE / DELETE without RETURNING: how many rows changed. */
  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }>;
  /**
   * Waits for an exclusive lock on `name`, held until the transaction ends. PostgreSQL: an advisory
   * transaction lock on a 64-bit hash of the name. SQLite: nothing to do, a write transaction
   * already holds the database's only write lock.
   */
  lock(name: string): Promise<void>;
}

/** `?` placeholders to PostgreSQL's `$1, $2, …`. The shop's SQL has no `?` inside string literals. */
export function toNumberedPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
