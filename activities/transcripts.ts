/**
 * Assembles the transcript a model step must see from a `ModelStepRequest`: the worker's cache of
 * each conversation's transcript plus the new messages, or, when the cache cannot (another worker
 * ran the previous step, the worker restarted, the entry was evicted), the workflow's own
 * transcript through its `history` query. Either way the result is checked against the length and
 * digest the workflow named, so the model sees exactly what it would have seen had the whole
 * transcript travelled in the request. This is what keeps history linear: the request carries
 * only what is new.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { digestOf, extendDigest } from '../contract/digest';
import {
  TRANSCRIPT_NOT_CACHED,
  type ChatMessage,
  type ModelStepInput,
  type ModelStepRequest,
  type ModelStepResult,
} from '../contract/transcript';
import { historyQuery } from '../workflows/messages';

/** Where a transcript comes from when the cache has not got it: the conversation itself. */
export interface TranscriptSource {
  fetch(workflowId: string, runId: string): Promise<ChatMessage[]>;
}

export function queryTranscriptSource(client: Client): TranscriptSource {
  return { fetch: (workflowId, runId) => client.workflow.getHandle(workflowId, runId).query(historyQuery) };
}

interface Entry {
  runId: string;
  messages: ChatMessage[];
  digest: string;
  chars: number;
}

export interface TranscriptCacheOptions {
  /** Total size of the cached transcripts, in characters of JSON; least recently used go first. 0 turns the cache off. */
  maxChars?: number;
}

/** Counters for tests and the benchmark: how each step got its transcript. */
export interface TranscriptStats {
  full: number;
  cached: number;
  fetched: number;
}

export interface TranscriptResolver {
  resolve(request: ModelStepRequest): Promise<ChatMessage[]>;
  readonly stats: TranscriptStats;
}

export function createTranscriptResolver(
  source: TranscriptSource,
  opts: TranscriptCacheOptions = {},
): TranscriptResolver {
  const maxChars = opts.maxChars ?? 64 * 1024 * 1024;
  const cache = new Map<string, Entry>();
  let chars = 0;
  const stats: TranscriptStats = { full: 0, cached: 0, fetched: 0 };

  /** `size`: the transcript's characters of JSON, counted as it was assembled (never the whole transcript again). */
  function remember(workflowId: string, runId: string, messages: ChatMessage[], digest: string, size: number): void {
    forget(workflowId);
    if (maxChars <= 0) return;
    const entry: Entry = { runId, messages, digest, chars: size };
    cache.set(workflowId, entry); // a Map iterates in insertion order: the first key is the least recently used
    chars += entry.chars;
    for (const key of cache.keys()) {
      if (chars <= maxChars || key === workflowId) break;
      forget(key);
    }
  }

  function forget(workflowId: string): void {
    const old = cache.get(workflowId);
    if (old) {
      chars -= old.chars;
      cache.delete(workflowId);
    }
  }

  async function resolve(request: ModelStepRequest): Promise<ChatMessage[]> {
    const { transcript, delta } = request;
    const { workflowId, runId } = transcript;
    let messages: ChatMessage[] | undefined;
    let digest: string | undefined;
    let size = 0;
    const entry = cache.get(workflowId);
    const same = entry !== undefined && entry.runId === runId;
    if (delta.from === 0) {
      [messages, digest, size] = [delta.messages, digestOf(delta.messages), jsonChars(delta.messages)];
      stats.full++;
    } else if (same && entry.messages.length === transcript.length && entry.digest === transcript.digest) {
      [messages, digest, size] = [entry.messages, entry.digest, entry.chars]; // a retry of a step this worker already assembled
      stats.cached++;
    } else if (same && entry.messages.length === delta.from && entry.digest === delta.baseDigest) {
      messages = [...entry.messages, ...delta.messages];
      digest = extendDigest(entry.digest, delta.messages);
      size = entry.chars + jsonChars(delta.messages);
      stats.cached++;
    }
    if (!messages || messages.length !== transcript.length || digest !== transcript.digest) {
      // The workflow holds the transcript (it waits on this step, so it has not moved on): ask it.
      const held = await source.fetch(workflowId, runId);
      messages = held.slice(0, transcript.length);
      size = jsonChars(messages);
      stats.fetched++;
      if (messages.length !== transcript.length || digestOf(messages) !== transcript.digest) {
        // The conversation moved on (a rollback's note), or this is a stale attempt: the next attempt sees the truth.
        throw ApplicationFailure.create({
          type: 'Transcript.Mismatch',
          message: `the transcript of ${workflowId} does not match what the model step was asked to see (${transcript.length} messages, digest ${transcript.digest})`,
          nonRetryable: false,
        });
      }
    }
    remember(workflowId, runId, messages, transcript.digest, size);
    return messages;
  }

  return { resolve, stats };
}

function jsonChars(messages: readonly ChatMessage[]): number {
  return JSON.stringify(messages).length;
}

/** The `callModel` activity: resolve the transcript, then run the model step on it. */
export function withTranscript(
  step: (input: ModelStepInput, stop?: AbortSignal) => Promise<ModelStepResult>,
  resolver: TranscriptResolver,
): (request: ModelStepRequest, stop?: AbortSignal) => Promise<ModelStepResult> {
  return async (request, stop) => step({ agent: request.agent, messages: await resolver.resolve(request) }, stop);
}

/**
 * The source of the local model step (`callModelLocal`, the `local` execution mode): none. The step
 * runs inside the workflow's own task, so the `history` query would wait for that task to end;
 * instead the step fails at once (not retried), and the workflow asks again with the whole
 * transcript. That happens on a run's first step after this worker restarted or another worker took
 * the conversation over, since a local step otherwise runs on the worker that ran the previous one.
 */
export const NO_TRANSCRIPT_SOURCE: TranscriptSource = {
  fetch: (workflowId) =>
    Promise.reject(
      ApplicationFailure.create({
        type: TRANSCRIPT_NOT_CACHED,
        message: `this worker has not got the transcript of ${workflowId}; the workflow sends it whole`,
        nonRetryable: true,
      }),
    ),
};
