/**
 * What a tool is: a name the model sees, a description, zod parameters (the single source of the
 * JSON schema the model is given and of argument validation), whether it writes, the words that
 * describe one call in the Temporal UI, and `execute`. `execute` gets a transaction-scoped store
 * handle: the runner calls it inside one shop transaction, so the rule checks and the writes they
 * allow commit together with the idempotency record (or not at all), on SQLite and PostgreSQL alike.
 */
import type { z } from 'zod';

import type { ToolRefusalCode } from '../../contract/transcript';
import type { ShopQueries } from '../store';
import type { HelpDocs } from './help-docs';

/** What `execute` sees besides its arguments. The customer comes from the workflow, never the model. */
export interface ToolContext {
  readonly customerId: string;
  readonly idempotencyKey: string;
  /** The shop, inside the transaction this call runs in. */
  readonly store: ShopQueries;
  /** One timestamp per call (injected so tests can pin it). */
  readonly now: Date;
  readonly helpDocs: HelpDocs;
  /** Refunds above this need an approval (REFUND_APPROVAL_LIMIT on the worker, default $200). */
  readonly refundApprovalLimitCents: number;
  /** Set only when a person approved this call (the workflow's `decideApproval`). */
  readonly approvalId?: string;
}

/** A tool's answer: data for the model, or a refusal the model explains to the customer. */
export type ToolOutcome =
  { ok: true; data: Record<string, unknown> } | { ok: false; code: ToolRefusalCode; message: string };

/** The parameters are always an object: that is what a function tool's schema must be. */
export type ToolParameters = z.ZodObject;

export interface ToolDefinition<N extends string = string, P extends ToolParameters = ToolParameters> {
  /** snake_case, what the model calls; agents list it in their `tools`. */
  readonly name: N;
  readonly description: string;
  readonly parameters: P;
  /** Mutating tools run exactly once per idempotency key (see runner.ts). */
  readonly mutating: boolean;
  /**
   * What follows the tool's name in the Temporal UI's line for one call, from its parsed
   * arguments: `order 12345 $99.99` gives `billing: process_refund order 12345 $99.99`.
   */
  summary?(args: z.output<P>): string;
  execute(args: z.output<P>, ctx: ToolContext): Promise<ToolOutcome>;
}

/** Declares a tool; the identity function keeps the literal name and infers `args` from the schema. */
export function defineTool<const N extends string, P extends ToolParameters>(
  def: ToolDefinition<N, P>,
): ToolDefinition<N, P> {
  return def;
}

export function ok(data: Record<string, unknown>): ToolOutcome {
  return { ok: true, data };
}

export function refuse(code: ToolRefusalCode, message: string): ToolOutcome {
  return { ok: false, code, message };
}
