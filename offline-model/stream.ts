/**
 * Streaming for the offline model: a Chat Completion cut into the chunks an OpenAI-compatible
 * server sends for `stream: true` (text a word at a time, tool calls as a header and argument
 * pieces, a finish chunk, and the usage chunk when `stream_options.include_usage` is set), and the
 * server-sent events that carry them, with an optional pause between chunks so a person watching a
 * browser can see the pieces arrive.
 */
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/** The parts of a non-streamed completion the chunks are cut from. */
export interface CompletionBody {
  id: string;
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: {
      role: string;
      content: string | null;
      refusal?: string | null;
      tool_calls?: Array<{ id: string; type: string; function: { name: string; arguments: string } }>;
    };
    finish_reason: string;
    logprobs?: unknown;
  }>;
  usage?: Record<string, unknown>;
}

/** Longest pause between chunks OFFLINE_MODEL_CHUNK_DELAY_MS may ask for. */
const MAX_CHUNK_DELAY_MS = 10_000;

/** OFFLINE_MODEL_CHUNK_DELAY_MS: milliseconds between streamed chunks (0, the default, sends them at once). */
export function offlineChunkDelayMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.OFFLINE_MODEL_CHUNK_DELAY_MS?.trim();
  if (!raw) return 0;
  const ms = Number(raw);
  if (!/^\d+$/.test(raw) || ms > MAX_CHUNK_DELAY_MS) {
    throw new Error(
      `OFFLINE_MODEL_CHUNK_DELAY_MS must be a whole number of milliseconds from 0 to ${MAX_CHUNK_DELAY_MS}, got ${JSON.stringify(raw)}`,
    );
  }
  return ms;
}

/** Text as a model streams it: a word (with the spaces after it) per piece; joined, exactly the text. */
export function textPieces(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

/** Tool-call arguments in a few pieces, as providers send them. */
function argumentPieces(args: string): string[] {
  const size = Math.max(8, Math.ceil(args.length / 3));
  const pieces: string[] = [];
  for (let i = 0; i < args.length; i += size) pieces.push(args.slice(i, i + size));
  return pieces.length > 0 ? pieces : [''];
}

/** The chunks of `completion` (choice 0), in the order an OpenAI server sends them. */
export function completionChunks(
  completion: CompletionBody,
  opts: { includeUsage: boolean },
): Array<Record<string, unknown>> {
  const choice = completion.choices[0];
  const base = {
    id: completion.id,
    object: 'chat.completion.chunk',
    created: completion.created,
    model: completion.model,
    system_fingerprint: null,
    // With include_usage, every chunk has `usage: null` and the last one the counts (as OpenAI does).
    ...(opts.includeUsage && { usage: null }),
  };
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) => ({
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  });
  const chunks: Array<Record<string, unknown>> = [];
  if (choice) {
    const { message } = choice;
    chunks.push(chunk({ role: 'assistant', content: '', refusal: null }));
    for (const piece of textPieces(message.content ?? '')) chunks.push(chunk({ content: piece }));
    if (message.refusal) chunks.push(chunk({ refusal: message.refusal }));
    for (const [index, call] of (message.tool_calls ?? []).entries()) {
      chunks.push(
        chunk({
          tool_calls: [{ index, id: call.id, type: call.type, function: { name: call.function.name, arguments: '' } }],
        }),
      );
      for (const piece of argumentPieces(call.function.arguments)) {
        chunks.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
      }
    }
    chunks.push(chunk({}, choice.finish_reason));
  }
  if (opts.includeUsage && completion.usage) chunks.push({ ...base, choices: [], usage: completion.usage });
  return chunks;
}

/** Sends `chunks` as server-sent events, `data: [DONE]` last; stops early if the client goes away. */
export async function sendEventStream(
  res: ServerResponse,
  chunks: ReadonlyArray<Record<string, unknown>>,
  delayMs = 0,
): Promise<void> {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  for (const [i, chunk] of chunks.entries()) {
    if (res.destroyed) return;
    if (i > 0 && delayMs > 0) await sleep(delayMs);
    res.write(`data: ${JSON.stringify(chunk)}\n\n`);
  }
  if (!res.destroyed) res.end('data: [DONE]\n\n');
}
