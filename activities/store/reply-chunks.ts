/**
 * The `reply_chunks` table (migration 2): the reply stream's side channel, in the shop database
 * every worker and the console already share. Not shop data: rows are written while a model step
 * streams, read by the console, and pruned after a while (activities/reply-stream.ts owns the
 * rules; this file owns only the SQL, the same text on both engines).
 *
 * Ids come from one sequence for the whole table. A reader follows one conversation with
 * `id > afterId`, so within a conversation rows must become visible in id order: each write takes
 * a per-conversation lock first (PostgreSQL advisory lock; SQLite's one writer already is one), so
 * a row cannot commit after a later-numbered row of the same conversation.
 */
import type { ReplyChunk } from '../reply-stream';
import type { SqlSession } from './sql';

/** One row to write: the reader's fields without the id the database assigns. */
export type NewReplyChunk = Omit<ReplyChunk, 'id'> & { createdAt: string };

export interface ReplyChunkStore {
  /** Writes the rows in one transaction, after taking the lock of each conversation they name. */
  append(rows: readonly NewReplyChunk[]): Promise<void>;
  /** Rows of `conversationId` with id > `afterId`, oldest first, at most `limit`. */
  since(conversationId: string, afterId: number, limit: number): Promise<ReplyChunk[]>;
  /** Deletes rows created before `before` (ISO-8601 UTC); how many went. */
  prune(before: string): Promise<number>;
}

interface ReplyChunkRow {
  id: number | string; // PostgreSQL returns BIGINT as text
  conversation_id: string;
  step: string;
  attempt: number;
  seq: number;
  content: string;
  is_final: number;
}

type WithSession = <T>(mode: SqlSession['mode'], fn: (sql: SqlSession) => Promise<T>) => Promise<T>;

export function replyChunkStore(withSession: WithSession): ReplyChunkStore {
  return {
    append: async (rows) => {
      if (rows.length === 0) return;
      await withSession('write', async (sql) => {
        // Sorted, so two writers naming the same conversations take their locks in the same order.
        for (const id of [...new Set(rows.map((r) => r.conversationId))].sort()) await sql.lock(`reply:${id}`);
        const values = rows.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ');
        await sql.run(
          `INSERT INTO reply_chunks (conversation_id, step, attempt, seq, content, is_final, created_at) VALUES ${values}`,
          rows.flatMap((r) => [r.conversationId, r.step, r.attempt, r.seq, r.text, r.final ? 1 : 0, r.createdAt]),
        );
      });
    },
    since: (conversationId, afterId, limit) =>
      withSession('read', async (sql) => {
        const rows = await sql.all<ReplyChunkRow>(
          `SELECT id, conversation_id, step, attempt, seq, content, is_final FROM reply_chunks
           WHERE conversation_id = ? AND id > ? ORDER BY id LIMIT ?`,
          [conversationId, afterId, limit],
        );
        return rows.map((r) => ({
          id: Number(r.id),
          conversationId: r.conversation_id,
          step: r.step,
          attempt: Number(r.attempt),
          seq: Number(r.seq),
          text: r.content,
          final: Number(r.is_final) === 1,
        }));
      }),
    prune: (before) =>
      withSession(
        'write',
        async (sql) => (await sql.run('DELETE FROM reply_chunks WHERE created_at < ?', [before])).changes,
      ),
  };
}
