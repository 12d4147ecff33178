/**
 * Refund approvals as pure reducers over the conversation's state: a refund above the policy's
 * limit becomes a pending approval instead of running; a person decides it (`decideApproval`), or
 * its deadline declines or escalates it. Nothing here touches Temporal: the turn and the handlers
 * call these, and run the approved refund as an activity themselves. Bounded like the trail: at
 * most APPROVAL_BOUNDS.maxAwaitingApprovals awaiting a decision (a further request is refused to
 * the model) and the newest maxDecidedApprovals decided ones, older ones folded into counters.
 */
import type { AgentName } from '../agents';
import { APPROVAL_BOUNDS, BOUNDS, cut, type ApprovalPolicy } from '../contract/limits';
import { dollarsToCents, formatCents, refundParameters, type RefundArguments } from '../contract/refunds';
import type { ToolRunResult } from '../contract/transcript';
// state.ts imports this file too; only functions are shared both ways, so the cycle is harmless.
import { pushTrail, type ConversationState } from './state';

export type ApprovalStatus = 'pending' | 'escalated' | 'approved' | 'rejected' | 'expired';

/** A refund waiting for, or decided by, a person. */
export interface Approval {
  /** `apr-<turn>-<step>-<call index>`: unique in the conversation (turns keep counting across continue-as-new). */
  id: string;
  status: ApprovalStatus;
  orderId: string;
  amountCents: number;
  reason: string;
  /** The agent that asked for the refund. */
  agent: AgentName;
  turn: number;
  requestedAt: string;
  /** When a pending approval is declined or escalated (APPROVAL_TIMEOUT after the request). */
  deadline: string;
  escalatedAt?: string;
  decidedBy?: string;
  decidedAt?: string;
  note?: string;
  /** After an approval: the refund made, or why the shop refused it. */
  refundId?: string;
  refundError?: string;
}

/** What the oldest decided approvals were, once folded away. */
export interface ApprovalsFolded {
  approved: number;
  rejected: number;
  expired: number;
}

/** A person's decision, as `decideApproval` takes it (checked by workflows/schemas.ts). */
export interface ApprovalDecision {
  approvalId: string;
  decision: 'approve' | 'reject';
  by: string;
  note?: string;
}

/** Who decides when nobody did in time. */
export const DEADLINE_DECIDER = 'deadline';

const AWAITING: readonly ApprovalStatus[] = ['pending', 'escalated'];

export function isAwaiting(a: Approval): boolean {
  return AWAITING.includes(a.status);
}

export function awaitingApprovals(state: ConversationState): Approval[] {
  return (state.approvals ?? []).filter(isAwaiting);
}

export function findApproval(state: ConversationState, id: string): Approval | undefined {
  return (state.approvals ?? []).find((a) => a.id === id);
}

/** The approved refund's arguments, rebuilt from the approval (as validated when it was requested). */
export function refundArgumentsJson(a: Approval): string {
  return JSON.stringify({ order_id: a.orderId, amount: a.amountCents / 100, reason: a.reason });
}

/** `<workflow id>:approval:<approval id>`: the refund runs once per approval, however often it is approved or retried. */
export function approvalIdempotencyKey(workflowId: string, approvalId: string): string {
  return `${workflowId}:approval:${approvalId}`;
}

export type RefundDecision =
  | { kind: 'run' }
  /** Not run: the model hears why. */
  | { kind: 'refuse'; reply: ToolRunResult }
  /** Above the limit: record a pending approval; the model hears that a supervisor will decide. */
  | { kind: 'approval'; args: RefundArguments };

/**
 * The policy for one `process_refund` call the agent may make, from its validated arguments.
 * Arguments that do not validate run as before (the activity refuses them for the model to fix).
 * Any refund for an order with an approval awaiting a decision is refused, so the model cannot
 * ask twice; above the limit, the refund waits for a person.
 */
export function decideRefund(state: ConversationState, argumentsJson: string, policy: ApprovalPolicy): RefundDecision {
  let raw: unknown;
  try {
    raw = JSON.parse(argumentsJson.trim() === '' ? '{}' : argumentsJson);
  } catch {
    return { kind: 'run' };
  }
  const parsed = refundParameters.safeParse(raw);
  if (!parsed.success) return { kind: 'run' };
  const args = parsed.data;
  const awaiting = awaitingApprovals(state);
  const same = awaiting.find((a) => a.orderId === args.order_id);
  if (same) {
    return {
      kind: 'refuse',
      reply: {
        ok: false,
        code: 'invalid_state',
        message:
          `An approval is already pending for a refund of ${formatCents(same.amountCents)} for order ${same.orderId} (approval ${same.id}, ` +
          `requested ${same.requestedAt}): a supervisor will decide and the customer will be told here. Do not request it again.`,
      },
    };
  }
  if (dollarsToCents(args.amount) <= policy.refundApprovalLimitCents) return { kind: 'run' };
  if (awaiting.length >= APPROVAL_BOUNDS.maxAwaitingApprovals) {
    return {
      kind: 'refuse',
      reply: {
        ok: false,
        code: 'over_limit',
        message: `${awaiting.length} refunds already wait for a supervisor in this conversation; no more can be requested until they are decided.`,
      },
    };
  }
  return { kind: 'approval', args };
}

/** Records a pending approval and its trail entry. */
export function requestApproval(
  state: ConversationState,
  req: { id: string; args: RefundArguments; agent: AgentName; at: string; policy: ApprovalPolicy },
): { state: ConversationState; approval: Approval; reply: ToolRunResult } {
  const approval: Approval = {
    id: req.id,
    status: 'pending',
    orderId: req.args.order_id,
    amountCents: dollarsToCents(req.args.amount),
    reason: cut(req.args.reason, BOUNDS.maxReasonChars).text,
    agent: req.agent,
    turn: state.turn,
    requestedAt: req.at,
    deadline: new Date(Date.parse(req.at) + req.policy.approvalTimeoutMs).toISOString(),
  };
  const next = { ...state, approvals: [...(state.approvals ?? []), approval] };
  const reply: ToolRunResult = {
    ok: true,
    data: {
      status: 'pending_approval',
      approval_id: approval.id,
      order_id: approval.orderId,
      amount: approval.amountCents / 100,
      message:
        `Not refunded yet: refunds above ${formatCents(req.policy.refundApprovalLimitCents)} need a supervisor's approval. ` +
        `The request is recorded (approval ${approval.id}); a supervisor will decide, and the customer will be told here. Do not request it again.`,
    },
  };
  return { state: pushTrail(next, trailEntry(approval, 'requested', req.at, state.turn)), approval, reply };
}

/** A person's decision on an approval that awaits one (checked before: see checkDecision). */
export function recordDecision(state: ConversationState, d: ApprovalDecision, at: string): ConversationState {
  const note = d.note === undefined ? undefined : cut(d.note, APPROVAL_BOUNDS.maxNoteChars).text;
  const status: ApprovalStatus = d.decision === 'approve' ? 'approved' : 'rejected';
  let decided: Approval | undefined;
  const approvals = (state.approvals ?? []).map((a) => {
    if (a.id !== d.approvalId || !isAwaiting(a)) return a;
    decided = { ...a, status, decidedBy: d.by, decidedAt: at, ...(note !== undefined && { note }) };
    return decided;
  });
  if (!decided) return state;
  // Not folded yet: the approved refund's outcome is still to be recorded on it (the caller folds).
  return pushTrail({ ...state, approvals }, trailEntry(decided, status, at, state.turn, d.by, note));
}

/** The approved refund's outcome, kept on the approval. */
export function recordRefund(state: ConversationState, approvalId: string, result: ToolRunResult): ConversationState {
  const approvals = (state.approvals ?? []).map((a) => {
    if (a.id !== approvalId) return a;
    if (result.ok)
      return { ...a, refundId: typeof result.data.refund_id === 'string' ? result.data.refund_id : 'unknown' };
    return { ...a, refundError: cut(`${result.code}: ${result.message}`, BOUNDS.maxReasonChars).text };
  });
  return { ...state, approvals };
}

/** The earliest deadline of an approval still pending (escalated ones have none), as epoch ms. */
export function nextDeadline(state: ConversationState): number | undefined {
  let next: number | undefined;
  for (const a of state.approvals ?? []) {
    if (a.status !== 'pending') continue;
    const at = Date.parse(a.deadline);
    if (next === undefined || at < next) next = at;
  }
  return next;
}

/** Pending approvals whose deadline has passed: declined, or escalated, as the policy says. */
export function applyDeadlines(
  state: ConversationState,
  at: string,
  policy: ApprovalPolicy,
): { state: ConversationState; changed: Approval[] } {
  const nowMs = Date.parse(at);
  const changed: Approval[] = [];
  const approvals = (state.approvals ?? []).map((a) => {
    if (a.status !== 'pending' || Date.parse(a.deadline) > nowMs) return a;
    const next: Approval =
      policy.onApprovalTimeout === 'escalate'
        ? { ...a, status: 'escalated', escalatedAt: at }
        : { ...a, status: 'expired', decidedBy: DEADLINE_DECIDER, decidedAt: at };
    changed.push(next);
    return next;
  });
  if (!changed.length) return { state, changed };
  let next: ConversationState = { ...state, approvals };
  for (const a of changed)
    next = pushTrail(
      next,
      trailEntry(
        a,
        a.status === 'escalated' ? 'escalated' : 'expired',
        at,
        state.turn,
        a.status === 'expired' ? DEADLINE_DECIDER : undefined,
      ),
    );
  return { state: foldDecided(next), changed };
}

/** What the customer reads once an approval is decided (or its deadline declined it). */
export function decisionMessage(a: Approval): string {
  const what = `your refund of ${formatCents(a.amountCents)} for order #${a.orderId}`;
  switch (a.status) {
    case 'approved':
      return a.refundId
        ? `Good news: a supervisor approved ${what} (refund ${a.refundId}). It should reach your account within a few days.`
        : `A supervisor approved ${what}, but it could not be made (${a.refundError ?? 'unknown error'}). A colleague will follow up with you.`;
    case 'rejected':
      return `A supervisor reviewed ${what} and could not approve it, so no money was refunded. Reply here if you have questions.`;
    case 'expired':
      return `I am sorry: ${what} could not be reviewed in time and was declined; no money was refunded. You can ask again, or ask for a person.`;
    case 'pending':
    case 'escalated':
      return `${what} is waiting for a supervisor's decision.`;
  }
}

/** The trail's record of an approval's life. */
export interface ApprovalTrailEntry {
  kind: 'approval';
  event: 'requested' | 'approved' | 'rejected' | 'expired' | 'escalated';
  approvalId: string;
  orderId: string;
  amountCents: number;
  by?: string;
  note?: string;
  at: string;
  turn: number;
}

function trailEntry(
  a: Approval,
  event: ApprovalTrailEntry['event'],
  at: string,
  turn: number,
  by?: string,
  note?: string,
): ApprovalTrailEntry {
  return {
    kind: 'approval',
    event,
    approvalId: a.id,
    orderId: a.orderId,
    amountCents: a.amountCents,
    ...(by !== undefined && { by }),
    ...(note !== undefined && { note }),
    at,
    turn,
  };
}

/** Keeps the newest maxDecidedApprovals decided approvals; older ones are counted in `approvalsFolded`. */
export function foldDecided(state: ConversationState): ConversationState {
  const approvals = state.approvals ?? [];
  // Oldest decision first (ISO times sort as text; a stable sort keeps request order on ties).
  const decided = approvals
    .filter((a) => !isAwaiting(a))
    .sort((x, y) =>
      (x.decidedAt ?? '') < (y.decidedAt ?? '') ? -1 : (x.decidedAt ?? '') > (y.decidedAt ?? '') ? 1 : 0,
    );
  const excess = decided.length - APPROVAL_BOUNDS.maxDecidedApprovals;
  if (excess <= 0) return state;
  const drop = new Set(decided.slice(0, excess));
  const folded = { ...(state.approvalsFolded ?? { approved: 0, rejected: 0, expired: 0 }) };
  for (const a of drop) {
    if (a.status === 'approved') folded.approved++;
    else if (a.status === 'rejected') folded.rejected++;
    else folded.expired++;
  }
  return { ...state, approvals: approvals.filter((a) => !drop.has(a)), approvalsFolded: folded };
}

/** Every approval within its bounds (strings cut, decided ones folded): for a carried state on arrival. */
export function boundApprovals(state: ConversationState): ConversationState {
  if (!state.approvals) return state;
  const c = (s: string, max: number) => cut(s, max).text;
  const approvals = state.approvals.map((a) => ({
    ...a,
    id: c(a.id, APPROVAL_BOUNDS.maxApprovalIdChars),
    orderId: c(a.orderId, 16),
    reason: c(a.reason, BOUNDS.maxReasonChars),
    ...(a.decidedBy !== undefined && { decidedBy: c(a.decidedBy, APPROVAL_BOUNDS.maxDeciderChars) }),
    ...(a.note !== undefined && { note: c(a.note, APPROVAL_BOUNDS.maxNoteChars) }),
    ...(a.refundId !== undefined && { refundId: c(a.refundId, 64) }),
    ...(a.refundError !== undefined && { refundError: c(a.refundError, BOUNDS.maxReasonChars) }),
  }));
  return foldDecided({ ...state, approvals });
}

/**
 * May `d` be applied now? The approval exists and awaits a decision; `by` is one of the policy's
 * approvers when it names any, and never the conversation's own customer.
 */
export function checkDecisionAgainst(
  state: ConversationState,
  d: ApprovalDecision,
  policy: ApprovalPolicy,
): string | undefined {
  const a = findApproval(state, d.approvalId);
  if (!a) return `there is no approval ${d.approvalId} in this conversation`;
  if (!isAwaiting(a))
    return `approval ${a.id} was already decided: ${a.status}${a.decidedBy ? ` by ${a.decidedBy}` : ''}${a.decidedAt ? ` at ${a.decidedAt}` : ''}`;
  if (d.by === state.customerId)
    return `${d.by} is the customer of this conversation and cannot decide their own refund`;
  if (policy.approvers.length && !policy.approvers.includes(d.by))
    return `${d.by} may not decide refunds; approvers: ${policy.approvers.join(', ')}`;
  return undefined;
}
