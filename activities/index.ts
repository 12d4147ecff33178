/**
 * The only thing the worker registers: every side effect of the desk, built from injected
 * dependencies so tests can pass fakes without module mocking. `callModel` is one model step (its
 * transcript assembled by activities/transcripts.ts, its streamed text published to the reply
 * stream in the shop database, activities/reply-stream.ts); `runTool` is one function tool call
 * against the shop.
 */
import type OpenAI from 'openai';
import type {
  LocalModelStepRequest,
  LocalModelStepResult,
  ModelStepRequest,
  ModelStepResult,
  ToolRunInput,
  ToolRunResult,
} from '../contract/transcript';
import type { PriceTable } from '../contract/usage';
import { interruptible } from './interrupts';
import { createModelStep } from './model';
import { createReplyStreamWriter, type ReplyStreamOptions } from './reply-stream';
import { tracedModelStep } from './telemetry';
import type { ShopStore } from './store';
import { createToolRunner } from './tools';
import {
  NO_TRANSCRIPT_SOURCE,
  createTranscriptResolver,
  withTranscript,
  type TranscriptCacheOptions,
  type TranscriptSource,
} from './transcripts';

export interface DeskActivities {
  /** A model step as an ordinary activity: the transcript by reference, only what is new carried. */
  callModel(request: ModelStepRequest): Promise<ModelStepResult>;
  /**
   * A model step as a local activity (the `local` execution mode), on the worker running the
   * workflow task: the same request, its transcript from this worker's cache (the workflow sends it
   * whole when the cache has not got it), stopped by a rollback interrupt (activities/interrupts.ts).
   */
  callModelLocal(request: LocalModelStepRequest): Promise<LocalModelStepResult>;
  runTool(input: ToolRunInput): Promise<ToolRunResult>;
}

export interface ActivityDeps {
  openai: OpenAI;
  model: string;
  /** Stream model answers and publish their text to the reply stream (true unless DESK_MODEL_STREAM=off). */
  stream?: boolean;
  /** Tuning of the reply stream's writer (batching, timeouts); tests shorten it. */
  replyStream?: ReplyStreamOptions;
  store: ShopStore;
  /** Where a model step gets a transcript its worker has not cached: the conversation's `history` query. */
  transcripts: TranscriptSource;
  transcriptCache?: TranscriptCacheOptions;
  /** Refunds above this many cents need an approval (the worker's REFUND_APPROVAL_LIMIT). */
  refundApprovalLimitCents?: number;
  /** Prices per model (activities/prices.ts); a model without one has its cost shown as unknown. */
  prices?: PriceTable;
  /** `gen_ai.system` on the model step's span: `openai` (any compatible endpoint) or `offline`. */
  modelSystem?: string;
}

export function createActivities(deps: ActivityDeps): DeskActivities {
  const { callModel } = createModelStep({
    openai: deps.openai,
    model: deps.model,
    prices: deps.prices,
    stream: deps.stream ?? true,
    replies: createReplyStreamWriter(deps.store.replies, deps.replyStream),
  });
  const traced = tracedModelStep(callModel, {
    model: deps.model,
    system: deps.modelSystem ?? 'openai',
    baseURL: deps.openai.baseURL,
  });
  const { runTool } = createToolRunner(deps.store, { refundApprovalLimitCents: deps.refundApprovalLimitCents });
  return {
    callModel: withTranscript(traced, createTranscriptResolver(deps.transcripts, deps.transcriptCache)),
    callModelLocal: interruptible(
      withTranscript(traced, createTranscriptResolver(NO_TRANSCRIPT_SOURCE, deps.transcriptCache)),
      deps.store.interrupts,
    ),
    runTool,
  };
}
