/**
 * What a client may send, as zod schemas: the workflow checks every start input, update argument
 * and signal argument against these before anything reaches its state, and the client checks the
 * same ones before sending, so a bad input gets the same clear error on either side. What a client
 * sends is strict (an unknown field is refused: it would ride into history for nothing) and bounded
 * (contract/limits.ts); the carried state is the exception, see carriedStateSchema.
 */
import { z } from 'zod';
import { AGENT_NAMES } from '../agents';
import {
  APPROVAL_BOUNDS,
  APPROVAL_POLICY_RANGES,
  BOUNDS,
  DEFAULT_LIMITS,
  LIMIT_RANGES,
  type ApprovalPolicy,
  type ConversationLimits,
} from '../contract/limits';
import type { Approval, ApprovalDecision } from './approvals';
import { EXECUTION_MODES, type ConversationInput, type RollbackInput, type SendMessageInput } from './messages';
import type { ConversationState, TrailEntry } from './state';
import type { ChatMessage } from '../contract/transcript';

const agentName = z.enum(AGENT_NAMES);
const isoTime = z.string().max(40);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const customerIdSchema = z
  .string()
  .regex(BOUNDS.customerIdPattern, "a customer id is 1-64 letters, digits, '_', '.', '@' or '-'");

const limitsShape = Object.fromEntries(
  (Object.keys(DEFAULT_LIMITS) as (keyof ConversationLimits)[]).map((key) => {
    const [min, max] = LIMIT_RANGES[key];
    return [key, z.number().int().min(min).max(max).optional()];
  }),
) as Record<keyof ConversationLimits, z.ZodOptional<z.ZodNumber>>;
export const limitsSchema = z.strictObject(limitsShape);

/** A person who decides approvals: trimmed, non-empty, at most maxDeciderChars, no control characters. */
export const deciderSchema = z
  .string()
  .trim()
  .min(1, '`by` is empty: say who decides')
  .max(APPROVAL_BOUNDS.maxDeciderChars, `\`by\` is longer than ${APPROVAL_BOUNDS.maxDeciderChars} characters`)
  .regex(/^[^\u0000-\u001f\u007f]*$/, '`by` contains control characters');

/** The refund-approval policy in the start input; anything left out takes DEFAULT_APPROVAL_POLICY's value. */
export const approvalPolicySchema: z.ZodType<Partial<ApprovalPolicy>> = z.strictObject({
  refundApprovalLimitCents: z
    .number()
    .int()
    .min(APPROVAL_POLICY_RANGES.refundApprovalLimitCents[0])
    .max(APPROVAL_POLICY_RANGES.refundApprovalLimitCents[1])
    .optional(),
  approvalTimeoutMs: z
    .number()
    .int()
    .min(APPROVAL_POLICY_RANGES.approvalTimeoutMs[0])
    .max(APPROVAL_POLICY_RANGES.approvalTimeoutMs[1])
    .optional(),
  onApprovalTimeout: z.enum(['reject', 'escalate']).optional(),
  approvers: z.array(deciderSchema).max(APPROVAL_POLICY_RANGES.maxApprovers).optional(),
});

// The carried state's schema checks structure and types only. Its sizes are not refused but
// bounded on arrival (boundState in state.ts): a state carried by an older release of the desk,
// made before a bound existed, must still continue rather than fail. For the same reason the parts
// inside it drop fields they do not know (z.object strips) rather than refuse them: a conversation
// must never be lost to a field one release added and another does not read.
const text = z.string();
const toolCall = z.object({ id: text, name: text, arguments: text });

const chatMessage: z.ZodType<ChatMessage> = z.discriminatedUnion('role', [
  z.object({ role: z.literal('user'), content: text }),
  z.object({
    role: z.literal('assistant'),
    agent: agentName,
    content: text.nullable(),
    toolCalls: z.array(toolCall).optional(),
  }),
  z.object({ role: z.literal('tool'), toolCallId: text, name: text, content: text }),
  z.object({ role: z.literal('event'), content: text }),
]);

const trailEntry: z.ZodType<TrailEntry> = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('handoff'),
    from: agentName,
    to: agentName,
    reason: text,
    reasonCut: count.optional(),
    at: isoTime,
    turn: count,
  }),
  z.object({
    kind: z.literal('handoff_refused'),
    from: agentName,
    to: text,
    reason: text,
    why: text,
    at: isoTime,
    turn: count,
  }),
  z.object({
    kind: z.literal('rollback'),
    from: agentName,
    to: agentName,
    reason: text,
    reasonCut: count.optional(),
    noop: z.boolean(),
    at: isoTime,
    turn: count,
  }),
  z.object({
    kind: z.literal('guard'),
    agent: agentName,
    limit: z.enum(['steps', 'handoffs', 'ping_pong', 'transcript']),
    at: isoTime,
    turn: count,
  }),
  z.object({
    kind: z.literal('approval'),
    event: z.enum(['requested', 'approved', 'rejected', 'expired', 'escalated']),
    approvalId: text,
    orderId: text,
    amountCents: count,
    by: text.optional(),
    note: text.optional(),
    at: isoTime,
    turn: count,
  }),
]);

const approval: z.ZodType<Approval> = z.object({
  id: text,
  status: z.enum(['pending', 'escalated', 'approved', 'rejected', 'expired']),
  orderId: text,
  amountCents: count,
  reason: text,
  agent: agentName,
  turn: count,
  requestedAt: isoTime,
  deadline: isoTime,
  escalatedAt: isoTime.optional(),
  decidedBy: text.optional(),
  decidedAt: isoTime.optional(),
  note: text.optional(),
  refundId: text.optional(),
  refundError: text.optional(),
});

const tokenCounts = z.object({
  steps: count,
  inputTokens: count,
  outputTokens: count,
  cachedInputTokens: count,
  costUsd: z.number().finite().min(0),
  unpricedSteps: count,
  estimatedSteps: count,
});

/** The state continue-as-new carries: checked like any other input, since any client can start a run with one. */
export const carriedStateSchema: z.ZodType<ConversationState> = z.object({
  customerId: customerIdSchema,
  status: z.enum(['open', 'closed']),
  closedReason: z.enum(['idle', 'ended']).optional(),
  currentAgent: agentName,
  history: z.array(chatMessage),
  trail: z.array(trailEntry),
  trailFolded: z
    .object({
      entries: count,
      handoffs: count,
      rollbacks: count,
      agentsInvolved: z.array(agentName).max(AGENT_NAMES.length),
      agentAfter: agentName,
    })
    .optional(),
  turn: count,
  runs: count,
  startedAt: isoTime,
  // No release made more than these: a longer list is refused, not cut (awaiting approvals are money decisions).
  approvals: z
    .array(approval)
    .max(APPROVAL_BOUNDS.maxAwaitingApprovals + APPROVAL_BOUNDS.maxDecidedApprovals)
    .optional(),
  approvalsFolded: z.object({ approved: count, rejected: count, expired: count }).optional(),
  usage: z
    .object({
      total: tokenCounts,
      // Keyed by agent name only: bounded by the number of agents.
      byAgent: z.partialRecord(agentName, tokenCounts),
    })
    .optional(),
});

export const conversationInputSchema: z.ZodType<ConversationInput> = z.strictObject({
  customerId: customerIdSchema,
  limits: limitsSchema.optional(),
  policy: approvalPolicySchema.optional(),
  execution: z.enum(EXECUTION_MODES).optional(),
  carried: carriedStateSchema.optional(),
});

/** The shape of `sendMessage`'s argument; its length and emptiness are checked by checkMessage. */
export const sendMessageInputSchema: z.ZodType<SendMessageInput> = z.strictObject({ text: z.string() });

export const rollbackInputSchema: z.ZodType<RollbackInput> = z.strictObject({ reason: z.string().optional() });

/** A zod error as one line a person can act on: `customerId: a customer id is ...; limits.maxStepsPerTurn: ...`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
}

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

export function checkConversationInput(raw: unknown): Checked<ConversationInput> {
  if (raw === undefined || raw === null)
    return { ok: false, error: 'expected an object { customerId, limits?, policy?, execution?, carried? }' };
  const parsed = conversationInputSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, error: describeIssues(parsed.error) };
  const carried = parsed.data.carried;
  if (carried && carried.customerId !== parsed.data.customerId)
    return { ok: false, error: 'carried.customerId: differs from customerId' };
  return { ok: true, value: parsed.data };
}

/**
 * A customer message, checked and cleaned: the strict shape, then the text made well-formed
 * (a lone surrogate in history would break every later model request), trimmed, non-empty and
 * within `maxMessageChars`.
 */
export function checkMessage(raw: unknown, maxMessageChars: number = DEFAULT_LIMITS.maxMessageChars): Checked<string> {
  const shape = 'a message must be an object with a string "text" and nothing else';
  if (typeof raw !== 'object' || raw === null) return { ok: false, error: shape };
  const parsed = sendMessageInputSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, error: `${shape}: ${describeIssues(parsed.error)}` };
  const text = parsed.data.text;
  if (text.length > maxMessageChars)
    return { ok: false, error: `the message is ${text.length} characters long; the limit is ${maxMessageChars}` };
  const clean = text.toWellFormed().trim();
  if (clean.length === 0) return { ok: false, error: 'the message is empty' };
  return { ok: true, value: clean };
}

/**
 * A rollback's reason. A signal cannot be refused, and an operator's rollback must not be lost to
 * a malformed payload: anything that is not `{ reason?: string }` still rolls back, with the
 * default reason and a note saying the payload was ignored. The reason is cut by the reducer.
 */
export function rollbackReason(raw: unknown): string {
  const fallback = 'rollback requested';
  if (raw === undefined || raw === null) return fallback;
  const parsed = rollbackInputSchema.safeParse(raw);
  if (!parsed.success) return `${fallback} (a malformed rollback payload was ignored)`;
  const text = parsed.data.reason?.toWellFormed().trim();
  return text ? text : fallback;
}

export const approvalDecisionSchema: z.ZodType<ApprovalDecision> = z.strictObject({
  approvalId: z
    .string()
    .min(1, 'the approval id is empty')
    .max(
      APPROVAL_BOUNDS.maxApprovalIdChars,
      `an approval id is at most ${APPROVAL_BOUNDS.maxApprovalIdChars} characters`,
    ),
  decision: z.enum(['approve', 'reject'], "decision must be 'approve' or 'reject'"),
  by: deciderSchema,
  note: z
    .string()
    .max(APPROVAL_BOUNDS.maxNoteChars, `a note is at most ${APPROVAL_BOUNDS.maxNoteChars} characters`)
    .optional(),
});

/** A decision's shape, cleaned (`by` trimmed, the note well-formed and trimmed); whether it may apply is approvals.ts's checkDecisionAgainst. */
export function checkDecisionShape(raw: unknown): Checked<ApprovalDecision> {
  const shape = "a decision is { approvalId, decision: 'approve' | 'reject', by, note? }";
  if (typeof raw !== 'object' || raw === null) return { ok: false, error: shape };
  const parsed = approvalDecisionSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, error: describeIssues(parsed.error) };
  const { approvalId, decision, by } = parsed.data;
  const note = parsed.data.note?.toWellFormed().trim();
  return { ok: true, value: { approvalId, decision, by: by.toWellFormed(), ...(note && { note }) } };
}
