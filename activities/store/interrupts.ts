/**
 * The `interrupts` table (migration 3): how a rollback reaches a model step that runs as a local
 * activity (the `local` execution mode). Such a step runs inside the workflow task, and Temporal
 * delivers a signal only when that task ends or heartbeats; so the desk's clients, once the server
 * has accepted their rollback signal, also write a row here, which the step watches for: it stops,
 * the task ends, and the signal (already waiting on the server) lands at once. Not shop data, and
 * never the source of truth: the signal is. A row without a signal costs one repeated model step.
 * Timestamps are ISO-8601 UTC text, compared as text like every other timestamp here.
 */
import type { SqlSession } from './sql';

export interface InterruptStore {
  /** Records that a rollback was signalled to `conversationId` (at `at`, now by default); prunes rows older than an hour. */
  add(conversationId: string, at?: string): Promise<void>;
  /** The time of the newest interrupt of `conversationId` written after `after` (ISO-8601), if any. */
  newestAfter(conversationId: string, after: string): Promise<string | undefined>;
}

type WithSession = <T>(mode: SqlSession['mode'], fn: (sql: SqlSession) => Promise<T>) => Promise<T>;

const KEEP_MS = 60 * 60 * 1000;

export function interruptStore(withSession: WithSession): InterruptStore {
  return {
    add: (conversationId, at = new Date().toISOString()) =>
      withSession('write', async (sql) => {
        await sql.run('INSERT INTO interrupts (conversation_id, created_at) VALUES (?, ?)', [conversationId, at]);
        await sql.run('DELETE FROM interrupts WHERE created_at < ?', [
          new Date(Date.parse(at) - KEEP_MS).toISOString(),
        ]);
      }),
    newestAfter: (conversationId, after) =>
      withSession('read', async (sql) => {
        const row = await sql.get<{ at: string | null }>(
          'SELECT MAX(created_at) AS at FROM interrupts WHERE conversation_id = ? AND created_at > ?',
          [conversationId, after],
        );
        return row?.at ?? undefined;
      }),
  };
}
