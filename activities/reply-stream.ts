/**
 * The reply stream: the side channel that carries a model step's text while it streams, so a
 * console can show it token by token. Tokens never enter workflow history; only the final text is
 * recorded there, by the workflow, as before.
 *
 * The channel is a table (`reply_chunks`) in the shop database the desk already has: the SQLite
 * file in the embedded default, PostgreSQL when SHOP_DATABASE_URL is set. That database is
 * already shared by every worker in cluster mode and reachable from a console on another host,
 * and it needs no new server or dependency. (Temporal itself is no channel for this: anything
 * sent through it is history.)
 *
 * Rows are keyed by conversation (the workflow id), step (`<runId>/<activityId>`: activity ids
 * restart after continue-as-new), attempt and seq. The writer batches deltas (one row per flush,
 * not one per token) and ends every attempt with a final row that carries the step's whole visible
 * text: exactly what the workflow records (the reply, the refusal, a tool-calling step's text, or
 * '' when the step failed or was cancelled). `foldReplyChunks` is the one reading rule: per step
 * the latest attempt wins, and its final row, once there, replaces the deltas. A retried step thus
 * never shows text twice, and a reader that connects mid-turn still ends with the recorded text.
 *
 * The channel must never fail the model step: a write error is logged and the step goes on, and
 * the final row is waited for only briefly.
 */
import { Context } from '@temporalio/activity';

import { BOUNDS } from '../contract/limits';
import { defaultShopLocation, openShopStore, type NewReplyChunk, type ReplyChunkStore } from './store';

/** One row of the channel, as a reader gets it. */
export interface ReplyChunk {
  id: number;
  conversationId: string;
  step: string;
  attempt: number;
  seq: number;
  text: string;
  final: boolean;
}

export interface ReplyStreamReader {
  /** Chunks of this conversation with id > afterId, oldest first (at most `limit`). */
  since(conversationId: string, afterId: number, limit?: number): Promise<ReplyChunk[]>;
  close(): Promise<void>;
}

/** Rows one `since` returns when no limit is given, and the most it ever returns. */
export const DEFAULT_SINCE_LIMIT = 500;
export const MAX_SINCE_LIMIT = 5_000;
/** Longer ids are not conversation ids of this desk. */
const MAX_CONVERSATION_ID_CHARS = 1_000;

/** Opens a reader on the same database the worker writes to (SHOP_DATABASE_URL or the SQLite default). */
export async function openReplyStreamReader(env: NodeJS.ProcessEnv = process.env): Promise<ReplyStreamReader> {
  const store = await openShopStore(defaultShopLocation(env));
  return replyStreamReader(store.replies, () => store.close());
}

/** A reader on a chunk store that is already open (tests, or a process that holds the shop). */
export function replyStreamReader(chunks: ReplyChunkStore, close: () => Promise<void>): ReplyStreamReader {
  return {
    since: async (conversationId, afterId, limit = DEFAULT_SINCE_LIMIT) => {
      if (typeof conversationId !== 'string' || conversationId === '') {
        throw new TypeError('conversationId must be a non-empty string');
      }
      if (conversationId.length > MAX_CONVERSATION_ID_CHARS) {
        throw new RangeError(`conversationId is longer than ${MAX_CONVERSATION_ID_CHARS} characters`);
      }
      if (!Number.isSafeInteger(afterId) || afterId < 0) {
        throw new RangeError(`afterId must be a whole number >= 0, got ${String(afterId)}`);
      }
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_SINCE_LIMIT) {
        throw new RangeError(`limit must be a whole number from 1 to ${MAX_SINCE_LIMIT}, got ${String(limit)}`);
      }
      return chunks.since(conversationId, afterId, limit);
    },
    close,
  };
}

// ---------------------------------------------------------------------------------------------
// The reading rule

/** What a reader shows for one model step. */
export interface ReplyStepText {
  step: string;
  /** The attempt shown: the latest one seen. */
  attempt: number;
  text: string;
  /** The attempt's final row has arrived: `text` is exactly what the step returned to the workflow. */
  final: boolean;
}

/**
 * Folds chunks (of one conversation, in any order, duplicates allowed) into the visible text of
 * each step, steps in the order they first appeared. Per step the latest attempt wins (a retried
 * step replaces the failed attempt's text instead of adding to it); within it a final row's text
 * is the whole text, otherwise the deltas are joined in seq order.
 */
export function foldReplyChunks(chunks: Iterable<ReplyChunk>): ReplyStepText[] {
  const steps = new Map<string, { firstId: number; attempt: number; parts: Map<number, string>; final?: string }>();
  for (const chunk of chunks) {
    let step = steps.get(chunk.step);
    if (!step) {
      step = { firstId: chunk.id, attempt: chunk.attempt, parts: new Map() };
      steps.set(chunk.step, step);
    }
    step.firstId = Math.min(step.firstId, chunk.id);
    if (chunk.attempt < step.attempt) continue;
    if (chunk.attempt > step.attempt) {
      step.attempt = chunk.attempt;
      step.parts = new Map();
      delete step.final;
    }
    if (chunk.final) step.final = chunk.text;
    else step.parts.set(chunk.seq, chunk.text);
  }
  return [...steps.entries()]
    .sort(([, a], [, b]) => a.firstId - b.firstId)
    .map(([name, s]) => ({
      step: name,
      attempt: s.attempt,
      text:
        s.final ??
        [...s.parts.entries()]
          .sort(([a], [b]) => a - b)
          .map(([, text]) => text)
          .join(''),
      final: s.final !== undefined,
    }));
}

// ---------------------------------------------------------------------------------------------
// The writer, used by the model step

/** Which step an attempt's rows belong to. */
export interface ReplyStepKey {
  conversationId: string;
  step: string;
  attempt: number;
}

/** The running activity's key, or undefined outside an activity. */
export function currentReplyStep(): ReplyStepKey | undefined {
  let info: Context['info'];
  try {
    info = Context.current().info;
  } catch {
    return undefined;
  }
  // Absent for an activity started on its own, outside a workflow: no conversation to stream to.
  if (!info.workflowExecution) return undefined;
  const { workflowId, runId } = info.workflowExecution;
  return { conversationId: workflowId, step: `${runId}/${info.activityId}`, attempt: info.attempt };
}

/** One attempt's writer. Neither method throws. */
export interface ReplyStepWriter {
  /** A text delta: buffered, written with others in the next flush. */
  push(delta: string): void;
  /** Ends the attempt with its whole visible text ('' when the step failed); waits briefly for the write. */
  finish(text: string): Promise<void>;
}

export interface ReplyStreamWriter {
  begin(key: ReplyStepKey): ReplyStepWriter;
}

export interface ReplyStreamOptions {
  /** How long deltas gather before one row is written. */
  flushMs?: number;
  /** How long `finish` waits for the final row before the step goes on without it. */
  finishTimeoutMs?: number;
  /** Rows older than this are pruned. */
  retentionMs?: number;
  /** How often one process prunes, at most. */
  pruneEveryMs?: number;
  /** Characters of deltas written per attempt, at most: the model step's own cap on text. */
  maxChars?: number;
  log?: (line: string) => void;
  now?: () => number;
}

export const REPLY_STREAM_DEFAULTS = {
  flushMs: 50,
  finishTimeoutMs: 2_000,
  retentionMs: 60 * 60_000,
  pruneEveryMs: 60_000,
  maxChars: BOUNDS.maxModelTextChars,
} as const;

/** Writes reply chunks to `chunks`; every failure is logged, none is thrown. */
export function createReplyStreamWriter(chunks: ReplyChunkStore, opts: ReplyStreamOptions = {}): ReplyStreamWriter {
  const cfg = { ...REPLY_STREAM_DEFAULTS, ...opts };
  const log = opts.log ?? activityWarn;
  const now = opts.now ?? Date.now;
  let lastPrune = now();

  function maybePrune(): void {
    if (now() - lastPrune < cfg.pruneEveryMs) return;
    lastPrune = now();
    chunks.prune(new Date(now() - cfg.retentionMs).toISOString()).catch((err: unknown) => {
      log(`reply stream: pruning old rows failed: ${errorText(err)}`);
    });
  }

  return {
    begin(key) {
      let seq = 0;
      let buffer = '';
      let written = 0;
      let timer: NodeJS.Timeout | undefined;
      let writing: Promise<void> | undefined;
      let broken = false;
      let finished = false;

      const row = (text: string, final: boolean): NewReplyChunk => ({
        ...key,
        seq: seq++,
        text,
        final,
        createdAt: new Date(now()).toISOString(),
      });

      function flush(): void {
        timer = undefined;
        if (buffer === '' || broken || finished) return;
        const rows = [row(buffer, false)];
        buffer = '';
        writing = chunks
          .append(rows)
          .catch((err: unknown) => {
            // One line per attempt, then quiet: the step goes on, the final row is still tried.
            broken = true;
            log(`reply stream: writing ${key.conversationId} ${key.step} failed, deltas dropped: ${errorText(err)}`);
          })
          .finally(() => {
            writing = undefined;
            if (buffer !== '' && !finished) timer ??= setTimeout(flush, cfg.flushMs);
          });
      }

      return {
        push(delta) {
          if (finished || broken || delta === '' || written >= cfg.maxChars) return;
          const room = cfg.maxChars - written;
          const piece = delta.length > room ? delta.slice(0, room) : delta;
          written += piece.length;
          buffer += piece;
          if (!writing) timer ??= setTimeout(flush, cfg.flushMs);
        },
        async finish(text) {
          if (finished) return;
          finished = true;
          if (timer) clearTimeout(timer);
          timer = undefined;
          const done = (async () => {
            await writing;
            // The last deltas and the final row in one write: the deltas still add up to the streamed text.
            const rest = buffer !== '' && !broken ? [row(buffer, false)] : [];
            buffer = '';
            await chunks.append([...rest, row(text, true)]);
          })().then(maybePrune, (err: unknown) => {
            log(`reply stream: final row of ${key.conversationId} ${key.step} failed: ${errorText(err)}`);
          });
          let wait: NodeJS.Timeout | undefined;
          const late = new Promise<'late'>(
            (resolve) => (wait = setTimeout(() => resolve('late'), cfg.finishTimeoutMs)),
          );
          const outcome = await Promise.race([done.then(() => 'done' as const), late]);
          clearTimeout(wait);
          if (outcome === 'late') {
            log(
              `reply stream: final row of ${key.conversationId} ${key.step} still pending after ${cfg.finishTimeoutMs} ms`,
            );
          }
        },
      };
    },
  };
}

function activityWarn(line: string): void {
  try {
    Context.current().log.warn(line);
  } catch {
    console.warn(line);
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
