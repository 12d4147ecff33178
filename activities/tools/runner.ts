/**
 * `runTool`, the activity body for every function tool call. It refuses what the model can fix
 * (unknown tool, a tool this agent may not use, bad JSON, invalid arguments) as a result the
 * model reads, and runs the rest against the shop. Mutating tools run exactly once per
 * idempotency key: the key is locked and its earlier outcome looked up, the rules are checked,
 * the write is done and the outcome recorded, all in one write transaction (SQLite: BEGIN
 * IMMEDIATE; PostgreSQL: key and row locks, see store/queries.ts), so a retried activity (after a
 * crash, a timeout, a second worker on another host) returns the recorded outcome instead of
 * acting again. Failures that are not the model's: transient database trouble (busy, a lost
 * connection, a lock timeout) is a retryable `Shop.Unavailable`, so Temporal retries it;
 * anything else is a bug and non-retryable.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';

import { AGENTS, isAgentName } from '../../agents';
import { DEFAULT_APPROVAL_POLICY } from '../../contract/limits';
import type { ToolRefusalCode, ToolRunInput, ToolRunResult } from '../../contract/transcript';
import { isTransientStoreError, type ShopQueries, type ShopStore } from '../store';
import type { ToolContext, ToolDefinition, ToolOutcome } from './define';
import { createHelpDocs, loadHelpArticles, type HelpDocs } from './help-docs';
import { TOOLS, isToolName } from './registry';

export interface ToolRunnerOptions {
  /** The clock for the rows' timestamps. */
  now?: () => Date;
  /** The help-centre index; by default the articles in `<repo>/help-docs/`. */
  helpDocs?: HelpDocs;
  /** Refunds above this many cents need an approval; default DEFAULT_APPROVAL_POLICY's ($200). */
  refundApprovalLimitCents?: number;
}

export interface ToolRunner {
  runTool(input: ToolRunInput): Promise<ToolRunResult>;
}

export function createToolRunner(store: ShopStore, opts: ToolRunnerOptions = {}): ToolRunner {
  const now = opts.now ?? (() => new Date());
  const helpDocs = opts.helpDocs ?? createHelpDocs(loadHelpArticles());
  const refundApprovalLimitCents = opts.refundApprovalLimitCents ?? DEFAULT_APPROVAL_POLICY.refundApprovalLimitCents;

  // A closure, not a method: the activities object hands `runTool` around unbound.
  async function runTool(input: ToolRunInput): Promise<ToolRunResult> {
    if (!input.customerId || !input.idempotencyKey) {
      throw ApplicationFailure.nonRetryable('runTool needs a customerId and an idempotencyKey', 'Tool.BadInput');
    }
    // An approval is honoured only with the key the workflow derives from it, so an approved refund
    // runs once per approval whatever sends it, and a marker cannot ride on an ordinary call's key.
    if (input.approval && !input.idempotencyKey.endsWith(`:approval:${input.approval.id}`)) {
      throw ApplicationFailure.nonRetryable(
        `an approved call must use the approval's idempotency key (…:approval:${input.approval.id})`,
        'Tool.BadInput',
      );
    }
    if (!isToolName(input.tool)) return refusal('unknown_tool', `There is no tool named ${input.tool}.`);
    const allowed: readonly string[] = isAgentName(input.agent) ? AGENTS[input.agent].tools : [];
    if (!allowed.includes(input.tool)) {
      return refusal(
        'not_allowed',
        `${input.tool} is not one of ${input.agent}'s tools; available: ${allowed.join(', ') || 'none'}.`,
      );
    }
    const def: ToolDefinition = TOOLS[input.tool];

    let raw: unknown;
    try {
      // Some models send "" for a call without arguments; that is an empty object, not bad JSON.
      raw = input.arguments.trim() === '' ? {} : JSON.parse(input.arguments);
    } catch (err) {
      return refusal('invalid_arguments', `The arguments are not valid JSON: ${(err as Error).message}`);
    }
    const parsed = def.parameters.safeParse(raw);
    if (!parsed.success) {
      return refusal('invalid_arguments', `Invalid arguments for ${def.name}: ${formatIssues(parsed.error.issues)}.`);
    }

    const at = now();
    const ctx = (tx: ShopQueries): ToolContext => ({
      customerId: input.customerId,
      idempotencyKey: input.idempotencyKey,
      store: tx,
      now: at,
      helpDocs,
      refundApprovalLimitCents,
      ...(input.approval && { approvalId: input.approval.id }),
    });
    try {
      if (!def.mutating) return await store.readTransaction((tx) => def.execute(parsed.data, ctx(tx)));
      return (await store.writeTransaction((tx) => runOnce(def, parsed.data, ctx(tx)))).result;
    } catch (err) {
      throw toFailure(err);
    }
  }

  return { runTool };
}

/** Inside the caller's write transaction: replay the key's outcome, or act and record it. */
async function runOnce(
  def: ToolDefinition,
  args: z.output<ToolDefinition['parameters']>,
  ctx: ToolContext,
): Promise<{ result: ToolRunResult; replayed: boolean }> {
  const argumentsJson = canonicalJson(args);
  // In a write transaction this also locks the key: a concurrent attempt of this call waits here.
  const prior = await ctx.store.getToolCall(ctx.idempotencyKey);
  if (prior) {
    if (prior.tool !== def.name || prior.argumentsJson !== argumentsJson || prior.customerId !== ctx.customerId) {
      // The workflow reused a key for a different call: a bug upstream, never the model's doing.
      throw ApplicationFailure.create({
        type: 'Tool.IdempotencyConflict',
        nonRetryable: true,
        message:
          `Idempotency key ${ctx.idempotencyKey} was already used for ${prior.tool} ${prior.argumentsJson} ` +
          `(customer ${prior.customerId}); refusing ${def.name} ${argumentsJson} (customer ${ctx.customerId}).`,
      });
    }
    const stored = JSON.parse(prior.resultJson) as ToolOutcome;
    // The contract's refusal has no `replayed` field; a replayed refusal is the same refusal.
    return { result: stored.ok ? { ...stored, replayed: true } : stored, replayed: true };
  }
  const outcome = await def.execute(args, ctx);
  // Refusals are recorded too, so a retry cannot turn a refusal into a success or vice versa.
  await ctx.store.insertToolCall({
    idempotencyKey: ctx.idempotencyKey,
    tool: def.name,
    customerId: ctx.customerId,
    argumentsJson,
    resultJson: JSON.stringify(outcome),
    createdAt: ctx.now.toISOString(),
  });
  return { result: outcome, replayed: false };
}

function refusal(code: ToolRefusalCode, message: string): ToolRunResult {
  return { ok: false, code, message };
}

function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => `${i.path.length ? i.path.join('.') : '(arguments)'}: ${i.message}`).join('; ');
}

/** JSON with object keys sorted at every level: equal arguments give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function toFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const message = err instanceof Error ? err.message : String(err);
  const cause = err instanceof Error ? err : undefined;
  if (isTransientStoreError(err)) {
    const code = (err as { code?: unknown } | null)?.code;
    const detail = typeof code === 'string' ? ` (${code})` : '';
    return ApplicationFailure.create({
      type: 'Shop.Unavailable',
      nonRetryable: false,
      message: `Shop database unavailable${detail}: ${message}`,
      cause,
    });
  }
  return ApplicationFailure.create({
    type: 'Tool.InternalError',
    nonRetryable: true,
    message: `Tool failed: ${message}`,
    cause,
  });
}
