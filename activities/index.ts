/**
 * The only thing the worker registers: every side effect of the desk, built from injected
 * dependencies so tests can pass fakes without module mocking. `callModel` is one model step;
 * `runTool` is one function tool call against the shop.
 */
import type OpenAI from 'openai';
import type { ModelStepInput, ModelStepResult, ToolRunInput, ToolRunResult } from '../contract/transcript';
import { createModelStep } from './model';
import type { ShopStore } from './store';
import { createToolRunner } from './tools';

export interface DeskActivities {
  callModel(input: ModelStepInput): Promise<ModelStepResult>;
  runTool(input: ToolRunInput): Promise<ToolRunResult>;
}

export interface ActivityDeps {
  openai: OpenAI;
  model: string;
  store: ShopStore;
  /** Refunds above this many cents need an approval (the worker's REFUND_APPROVAL_LIMIT). */
  refundApprovalLimitCents?: number;
}

export function createActivities(deps: ActivityDeps): DeskActivities {
  const { callModel } = createModelStep({ openai: deps.openai, model: deps.model });
  const { runTool } = createToolRunner(deps.store, { refundApprovalLimitCents: deps.refundApprovalLimitCents });
  return { callModel, runTool };
}
