/**
 * The SQLite backend: one better-sqlite3 connection per process, WAL mode so readers never block
 * the writer, a busy timeout so a second process waits instead of failing at once. better-sqlite3
 * is synchronous and one connection holds one transaction, so this process's transactions take
 * turns (an in-process queue) while they await between statements; across processes BEGIN
 * IMMEDIATE makes every write transaction the only writer. One host only: the file is local.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

import Database from 'better-sqlite3';

import { migrate } from './migrations';
import { insertSeed } from './seed';
import type { SqlSession } from './sql';
import { storeOnBackend, type ShopStore } from './backend';

/** How long a writer waits for another process's lock before SQLITE_BUSY (then Temporal retries). */
const BUSY_TIMEOUT_MS = 5_000;

export interface SqliteShopStore extends ShopStore {
  /** The connection itself, for SQLite-only checks (pragmas) in tests. */
  readonly db: Database.Database;
}

/** Opens (creating, migrating and seeding on first use) the SQLite shop database at `path`. */
export async function openSqliteStore(path: string): Promise<SqliteShopStore> {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('foreign_keys = ON');
    // FULL: a committed refund survives a power cut, not only a process crash.
    db.pragma('synchronous = FULL');
  } catch (err) {
    db.close();
    throw err;
  }

  // One transaction at a time on this connection: each waits for the one before to settle.
  let tail: Promise<unknown> = Promise.resolve();
  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  }

  function session(mode: SqlSession['mode']): SqlSession {
    const statement = (sql: string) => db.prepare(sql);
    return {
      dialect: 'sqlite',
      mode,
      all: async <T>(sql: string, params: readonly unknown[] = []) => statement(sql).all(...params) as T[],
      get: async <T>(sql: string, params: readonly unknown[] = []) => statement(sql).get(...params) as T | undefined,
      run: async (sql: string, params: readonly unknown[] = []) => ({ changes: statement(sql).run(...params).changes }),
      lock: async () => undefined, // BEGIN IMMEDIATE already holds the database's one write lock.
    };
  }

  function withSession<T>(mode: SqlSession['mode'], fn: (sql: SqlSession) => Promise<T>): Promise<T> {
    return exclusive(async () => {
      db.exec(mode === 'write' ? 'BEGIN IMMEDIATE' : 'BEGIN DEFERRED');
      try {
        const result = await fn(session(mode));
        db.exec('COMMIT');
        return result;
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  try {
    await withSession('write', (sql) => migrate(sql, async (ddl) => void db.exec(ddl), insertSeed));
  } catch (err) {
    db.close();
    throw err;
  }
  const store = storeOnBackend({
    dialect: 'sqlite',
    location: path,
    withSession,
    close: async () => {
      await tail;
      if (db.open) db.close();
    },
  });
  return Object.assign(store, { db });
}
