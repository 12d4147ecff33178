/**
 * The PostgreSQL backend (`SHOP_DATABASE_URL=postgres://user:password@host:5432/shop`): a `pg`
 * connection pool shared by all of this process's activities, so any number of workers on any
 * number of hosts share one shop. Write transactions run at READ COMMITTED and take the row and
 * advisory locks queries.ts asks for; read transactions are REPEATABLE READ READ ONLY (one
 * snapshot). Migrations run under an advisory lock, so workers starting together migrate once.
 * A lost connection (PostgreSQL restarting, a network cut) fails the transaction, which rolls back
 * on the server; the error is transient and Temporal retries the activity on a new connection.
 */
import pg from 'pg';

import { migrate } from './migrations';
import { insertSeed } from './seed';
import { toNumberedPlaceholders, type SqlSession } from './sql';
import { storeOnBackend, type ShopStore } from './backend';

/** An arbitrary constant: the advisory lock key that serialises migrations. */
const MIGRATION_LOCK = 'shop:migrations';

export interface PostgresShopStore extends ShopStore {
  readonly pool: pg.Pool;
}

/** The URL without its password, for logs and banners. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

/** Opens the pool, checks the server answers, and migrates (and seeds a new database). */
export async function openPostgresStore(url: string): Promise<PostgresShopStore> {
  const pool = new pg.Pool({
    connectionString: url,
    max: Number(process.env.SHOP_DATABASE_POOL_SIZE) || 10,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    // A lock wait past this fails the transaction as transient (55P03) instead of hanging an activity.
    lock_timeout: 15_000,
    // A connection left in a transaction (a frozen client) cannot hold the order's lock forever.
    idle_in_transaction_session_timeout: 60_000,
    application_name: 'durable-service-desk',
  });
  // An idle pooled connection that the server drops (restart, failover) emits 'error' on the pool;
  // without a listener that would crash the worker. The pool discards the connection by itself.
  pool.on('error', () => undefined);

  function session(client: pg.PoolClient, mode: SqlSession['mode']): SqlSession {
    const query = async <T>(sql: string, params: readonly unknown[]) =>
      client.query<T & pg.QueryResultRow>(toNumberedPlaceholders(sql), params as unknown[]);
    return {
      dialect: 'postgres',
      mode,
      all: async <T>(sql: string, params: readonly unknown[] = []) => (await query<T>(sql, params)).rows,
      get: async <T>(sql: string, params: readonly unknown[] = []) => (await query<T>(sql, params)).rows[0],
      run: async (sql: string, params: readonly unknown[] = []) => ({
        changes: (await query(sql, params)).rowCount ?? 0,
      }),
      lock: async (name: string) => {
        await query('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [name]);
      },
    };
  }

  async function withSession<T>(mode: SqlSession['mode'], fn: (sql: SqlSession) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query(
        mode === 'write' ? 'BEGIN ISOLATION LEVEL READ COMMITTED' : 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
      );
      try {
        const result = await fn(session(client, mode));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch((rollbackErr: Error) => {
          broken = rollbackErr; // The connection is gone; the server rolled the transaction back.
        });
        throw err;
      }
    } catch (err) {
      broken ??= isConnectionLoss(err) ? (err as Error) : undefined;
      throw err;
    } finally {
      // A connection that failed is destroyed rather than handed to the next transaction.
      client.release(broken);
    }
  }

  try {
    await withSession('write', async (sql) => {
      await sql.lock(MIGRATION_LOCK);
      await migrate(sql, (ddl) => sql.run(ddl).then(() => undefined), insertSeed);
    });
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }

  let closing: Promise<void> | undefined;
  const store = storeOnBackend({
    dialect: 'postgres',
    location: redactUrl(url),
    withSession,
    close: () => (closing ??= pool.end()),
  });
  return Object.assign(store, { pool });
}

function isConnectionLoss(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^(08|57P0)/.test(code)) return true;
  return err instanceof Error && /Connection terminated|connection error|ECONNRESET|ECONNREFUSED/i.test(err.message);
}
