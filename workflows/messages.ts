/**
 * Every message a client can send to a conversation, defined once with the constant named after
 * the wire name. Clients import these; the workflow registers handlers for them. Also the
 * conversation's input/output types and its search attributes, since clients need both.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { AgentName } from '../agents';
import type {
  ConversationLimits,
  ConversationState,
  ConversationStatistics,
  ConversationStatus,
  GuardLimit,
  TrailEntry,
} from './state';
import type { ApprovalPolicy } from '../contract/limits';
import type { Approval, ApprovalDecision, ApprovalsFolded } from './approvals';
import type { ChatMessage, ToolRunResult } from '../contract/transcript';
import type { StepUsage, UsageTotals } from '../contract/usage';

export const TASK_QUEUE = 'customer-service';

/**
 * Where a conversation's model steps and tool calls run, fixed when it starts and kept across
 * continue-as-new (README "Execution modes"):
 * - `activities`: ordinary activities, on any worker: each model step and tool call is a server round
 *   trip (schedule, complete, a new workflow task), and a rollback, a message or a query reaches the
 *   workflow between any two of them;
 * - `local-tools`: tool calls are local activities, model steps ordinary ones;
 * - `local`: model steps and tool calls are local activities, run by the worker that runs the workflow
 *   task: a whole turn is one workflow task, with no server round trip per step (the shop's ledger keeps
 *   mutations exactly-once). While a turn runs, what Temporal delivers (a signal, a message, a query)
 *   reaches the workflow when the task heartbeats, at 80 % of its timeout (8 s); a rollback sent by
 *   the desk's clients also writes an interrupt row that stops the model step at once
 *   (activities/interrupts.ts), so it lands within a fraction of a second.
 */
export const EXECUTION_MODES = ['activities', 'local-tools', 'local'] as const;
export type ExecutionMode = (typeof EXECUTION_MODES)[number];
/**
 * What a start input without `execution` means: every conversation started before execution modes
 * existed, and any client that does not say. Never changes, or recorded histories stop replaying.
 */
export const ABSENT_EXECUTION: ExecutionMode = 'activities';
/**
 * The mode the desk's clients (CLI, console, demo) start conversations in when DESK_EXECUTION is
 * unset. `activities`, measured against `local` (README "Execution modes"): `local` is 2-3x faster
 * per step, but while a turn runs Temporal delivers nothing to it before the workflow task ends or
 * heartbeats (8 s), so queries (`client state`, the console's page), new messages and the Temporal
 * UI's view of the turn wait for it; `activities` keeps all of them live.
 */
export const DEFAULT_EXECUTION: ExecutionMode = 'activities';
/**
 * Each mode's workflow task timeout, set when a conversation starts (continue-as-new keeps it). A
 * worker that has not cached a conversation replays its whole run inside one task, and it runs up
 * to DESK_WORKFLOW_TASK_SLOTS tasks (4) at once on one workflow thread (worker/slots.ts): Temporal's
 * 10 s left no room for four replays of a run near its cap, 30 s does. `local` keeps 10 s: its turns
 * run inside the task, which the worker heartbeats at 80 % of this timeout (a rollback from outside
 * the desk's clients lands then, and a dead worker's turn is taken over after it), so its runs are
 * capped shorter instead (LOCAL_MAX_EVENTS_PER_RUN).
 */
export const WORKFLOW_TASK_TIMEOUT_MS: Readonly<Record<ExecutionMode, number>> = {
  activities: 30_000,
  'local-tools': 30_000,
  local: 10_000,
};
export const isExecutionMode = (value: string): value is ExecutionMode =>
  (EXECUTION_MODES as readonly string[]).includes(value);
export const WORKFLOW_TYPE = 'conversation';

/** The `type` of the failures a client can get from a conversation, to match on (never on message text). */
export const FAILURE = {
  /** The start input was invalid: the execution failed at once. */
  invalidInput: 'InvalidConversationInput',
  /** A message was refused by the validator (empty, too long, malformed) or reached a closed conversation. */
  invalidMessage: 'InvalidMessage',
  /** The conversation closed while the message waited its turn. */
  conversationClosed: 'ConversationClosed',
  /** A decision was refused: unknown or already decided approval, empty or unauthorised `by`, malformed. Nothing changed. */
  invalidDecision: 'InvalidDecision',
} as const;

export interface ConversationInput {
  /** The customer this conversation acts for; every tool call is scoped to them. */
  customerId: string;
  limits?: Partial<ConversationLimits>;
  /** The refund-approval policy (limit, timeout, what the timeout does, approvers); defaults in DEFAULT_APPROVAL_POLICY. */
  policy?: Partial<ApprovalPolicy>;
  /** Where model steps and tool calls run; ABSENT_EXECUTION when absent (every earlier release). */
  execution?: ExecutionMode;
  /** Set only by continue-as-new: the state carried over from the previous run. */
  carried?: ConversationState;
}

export interface SendMessageInput {
  text: string;
}

/** One step of a turn, in order, so a client can print the run log. */
export type TurnEvent =
  | {
      type: 'model_step';
      agent: AgentName;
      outcome: 'reply' | 'tool_calls' | 'refusal' | 'failed' | 'interrupted';
      error?: string;
      droppedCalls?: number;
      /** The step's tokens and cost, when the endpoint reported them. */
      usage?: StepUsage;
    }
  | { type: 'tool_call'; agent: AgentName; tool: string; arguments: string; result: ToolRunResult }
  | { type: 'tool_skipped'; agent: AgentName; tool: string; why: string }
  | { type: 'handoff'; from: AgentName; to: AgentName; reason: string }
  | { type: 'handoff_refused'; from: AgentName; to: string; reason: string; why: string }
  | { type: 'rollback'; from: AgentName; to: AgentName; reason: string; noop: boolean }
  | { type: 'guard'; agent: AgentName; limit: GuardLimit }
  | {
      type: 'approval_requested';
      agent: AgentName;
      approvalId: string;
      orderId: string;
      amountCents: number;
      deadline: string;
    };

/** What `sendMessage` returns: the reply, who gave it, and what happened on the way. */
export interface AgentReply {
  agent: AgentName;
  text: string;
  turn: number;
  events: TurnEvent[];
}

export interface RollbackInput {
  reason?: string;
}

export interface ConversationSnapshot {
  customerId: string;
  status: ConversationStatus;
  closedReason?: 'idle' | 'ended';
  currentAgent: AgentName;
  turn: number;
  trail: TrailEntry[];
  statistics: ConversationStatistics;
  limits: ConversationLimits;
  policy: ApprovalPolicy;
  execution: ExecutionMode;
  /** Awaiting a decision first, then the newest decided ones. */
  approvals: Approval[];
  approvalsFolded?: ApprovalsFolded;
  /** Tokens and cost per agent and in all (absent before the first model step that reported usage). */
  usage?: UsageTotals;
}

export type DecideApprovalInput = ApprovalDecision;

/** What `decideApproval` returns: the approval as decided, and what the customer was told. */
export interface ApprovalOutcome {
  approval: Approval;
  /** The assistant message added to the transcript for the customer. */
  text: string;
}

/** Send a customer message and wait for the desk's reply. */
export const sendMessageUpdate = defineUpdate<AgentReply, [SendMessageInput]>('sendMessage');
/** Return control to the receptionist at the next step boundary. */
export const rollbackSignal = defineSignal<[RollbackInput]>('rollback');
/** Close the conversation now. */
export const endSignal = defineSignal<[]>('end');
/** A person approves or rejects a pending refund; an approval runs the refund once. */
export const decideApprovalUpdate = defineUpdate<ApprovalOutcome, [DecideApprovalInput]>('decideApproval');
/** Current agent, status, trail, statistics and approvals. */
export const stateQuery = defineQuery<ConversationSnapshot>('state');
/** The whole transcript. */
export const historyQuery = defineQuery<ChatMessage[]>('history');

export const CURRENT_AGENT = defineSearchAttributeKey('CurrentAgent', SearchAttributeType.KEYWORD);
export const CUSTOMER_ID = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);
export const HANDOFF_COUNT = defineSearchAttributeKey('HandoffCount', SearchAttributeType.INT);
/** Approvals awaiting a person's decision (pending or escalated); set once a conversation has had one. */
export const PENDING_APPROVALS = defineSearchAttributeKey('PendingApprovals', SearchAttributeType.INT);
/** Memo key of the conversation's usage in all (contract/usage.ts `UsageMemo`), for `list`. */
export const USAGE_MEMO = 'deskUsage';
