/**
 * The only thing the worker registers: every side effect of the desk, built from injected
 * dependencies so tests can pass fakes without module mocking. `callModel` is one model step (its
 * transcript assembled by activities/transcripts.ts); `runTool` is one function tool call against
 * the shop.
 */
import type OpenAI from 'openai';
import type { ModelStepRequest, ModelStepResult, ToolRunInput, ToolRunResult } from '../contract/transcript';
import { createModelStep } from './model';
import type { ShopStore } from './store';
import { createToolRunner } from './tools';
import {
  createTranscriptResolver,
  withTranscript,
  type TranscriptCacheOptions,
  type TranscriptSource,
} from './transcripts';

export interface DeskActivities {
  callModel(request: ModelStepRequest): Promise<ModelStepResult>;
  runTool(input: ToolRunInput): Promise<ToolRunResult>;
}

export interface ActivityDeps {
  openai: OpenAI;
  model: string;
  store: ShopStore;
  /** Where a model step gets a transcript its worker has not cached: the conversation's `history` query. */
  transcripts: TranscriptSource;
  transcriptCache?: TranscriptCacheOptions;
  /** Refunds above this many cents need an approval (the worker's REFUND_APPROVAL_LIMIT). */
  refundApprovalLimitCents?: number;
}

export function createActivities(deps: ActivityDeps): DeskActivities {
  const { callModel } = createModelStep({ openai: deps.openai, model: deps.model });
  const { runTool } = createToolRunner(deps.store, { refundApprovalLimitCents: deps.refundApprovalLimitCents });
  return {
    callModel: withTranscript(callModel, createTranscriptResolver(deps.transcripts, deps.transcriptCache)),
    runTool,
  };
}
