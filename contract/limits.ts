/**
 * Every bound the desk enforces, stated once (the README's "Limits" section lists them). Nothing a
 * client or a model sends may grow the conversation's state without bound: the state is what a
 * query returns and what continue-as-new carries, and Temporal refuses any payload over 2 MB, so an
 * unbounded field would end in a workflow task that fails forever. The reducers in state.ts apply
 * these bounds; schemas.ts checks what clients send against them.
 */

/** Per-conversation limits. Defaults in DEFAULT_LIMITS; a caller may override any within LIMIT_RANGES. */
export interface ConversationLimits {
  /** Model steps one customer message may take before the desk stops and says so. */
  maxStepsPerTurn: number;
  /** Handoffs one customer message may cause. */
  maxHandoffsPerTurn: number;
  /** An idle conversation closes itself after this long (a durable timer). */
  idleTimeoutMs: number;
  /** Continue-as-new once this run has added this many events (Temporal's own suggestion also counts). */
  continueAsNewAfterEvents: number;
  /**
   * Continue-as-new once this run has added this many bytes to history, checked whenever the
   * conversation is idle, a signal included: a run's history then stays under the 4 MB a client
   * may read in one response, even when a client pads its signals to 2 MB each. Counted from the
   * run's start, so a run that starts with a large carried state does not continue-as-new at once.
   */
  continueAsNewAfterBytes: number;
  /** The longest customer message accepted, in characters. */
  maxMessageChars: number;
  /**
   * The transcript is every model step's input and travels through continue-as-new: past this
   * many bytes of JSON (UTF-8) the oldest turns are archived, and a single turn that grows past it
   * ends with a guard reply.
   */
  maxTranscriptBytes: number;
}

export const DEFAULT_LIMITS: ConversationLimits = {
  maxStepsPerTurn: 10,
  maxHandoffsPerTurn: 4,
  idleTimeoutMs: 30 * 60 * 1000,
  continueAsNewAfterEvents: 10_000,
  continueAsNewAfterBytes: 2 * 1024 * 1024,
  maxMessageChars: 8_000,
  maxTranscriptBytes: 512 * 1024,
};

/**
 * The most events a `local` conversation's run holds before it continues as new, whatever its
 * limits say. A worker that has not cached a conversation (it restarted, or the conversation was
 * evicted) replays the run inside one workflow task, which must finish within the task timeout
 * (10 s in `local`, WORKFLOW_TASK_TIMEOUT_MS) or it is retried, replaying again: a loop. A worker
 * runs up to 4 tasks at once on one thread (worker/slots.ts), so four replays of a run at this cap
 * must fit: on the 2-core machine this was measured on, a `local` run replays at about 1.2 ms per
 * event (1,660 events in 2.0 s), so 1,200 events is about 1.5 s, four at once about 6 s. That is
 * about 65 turns (16-20 events each).
 */
export const LOCAL_MAX_EVENTS_PER_RUN = 1_200;
/**
 * The cap of `local` runs started before LOCAL_MAX_EVENTS_PER_RUN (0.4.0): they keep it, so their
 * histories replay unchanged (conversation.ts asks `patched(LOCAL_RUN_CAP_PATCH)` at a run's start).
 */
export const LOCAL_MAX_EVENTS_PER_RUN_0_4 = 3_600;

/** What a caller may set each limit to (inclusive). Outside these a start is refused. */
export const LIMIT_RANGES: Readonly<Record<keyof ConversationLimits, readonly [min: number, max: number]>> = {
  maxStepsPerTurn: [1, 50],
  maxHandoffsPerTurn: [0, 20],
  idleTimeoutMs: [1_000, 30 * 24 * 60 * 60 * 1000],
  continueAsNewAfterEvents: [20, 50_000],
  continueAsNewAfterBytes: [64 * 1024, 4 * 1024 * 1024],
  maxMessageChars: [1, 32_000],
  maxTranscriptBytes: [16 * 1024, 768 * 1024],
};

/** Bounds that are not per-conversation settings. */
export const BOUNDS = {
  /** Customer ids: they name workflows and search attributes. */
  customerIdPattern: /^[A-Za-z0-9_.@-]{1,64}$/,
  /** A rollback's or a handoff's reason; longer ones are cut and the cut is recorded. */
  maxReasonChars: 500,
  /** Trail entries kept, and their size as JSON; older ones are folded into counters, so the statistics stay exact. */
  maxTrailEntries: 200,
  maxTrailBytes: 128 * 1024,
  /** One assistant message's text; a longer model reply is cut. */
  maxModelTextChars: 16_000,
  /** Tool calls acted on from one model response; further ones are dropped and counted. */
  maxToolCallsPerStep: 8,
  /** A tool call's JSON arguments; longer ones are refused (and not stored). */
  maxToolArgumentChars: 4_000,
  /** A tool name as the model wrote it (OpenAI allows 64). */
  maxToolNameChars: 64,
  /** A tool result as the model reads it; a larger one is cut. */
  maxToolResultChars: 16_000,
} as const;

/**
 * The budget for everything continue-as-new carries (the whole state, encoded as JSON): the
 * transcript (at most `maxTranscriptBytes`, 768 KiB at the most) plus the trail (128 KiB) plus a
 * few counters. Half of Temporal's 2 MB payload limit. `compactForCarry` (state.ts) enforces it;
 * test/unit/bounds.test.ts pushes every part past its own bound and checks the total.
 */
export const HISTORY_BUDGET = {
  carriedStateBytes: 1024 * 1024,
} as const;

/** Text cut to `max` characters (never splitting a surrogate pair), and the original length when it was cut. */
export function cut(text: string, max: number): { text: string; cutFrom?: number } {
  if (text.length <= max) return { text };
  let end = max - 1;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--; // do not leave a lone high surrogate
  return { text: `${text.slice(0, end)}…`, cutFrom: text.length };
}

/** Text as one line (white space folded) of at most `max` characters: for summaries and log lines. */
export function oneLine(text: string, max: number): string {
  return cut(text.replace(/\s+/g, ' ').trim(), max).text;
}

/** UTF-8 length of a string, without TextEncoder (the workflow sandbox need not provide one). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3; // the BMP, and a lone surrogate (sent as U+FFFD)
  }
  return bytes;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** Size of a value as JSON, in UTF-8 bytes: how a payload's size is counted here. */
export function jsonBytes(value: unknown): number {
  return utf8Length(JSON.stringify(value) ?? '');
}

/**
 * Refund approvals (issue 13). A refund above the limit does not run: the conversation records a
 * pending approval that a person decides (`decideApproval`), or that is escalated when its deadline
 * passes. The policy is part of the start input (workflow code cannot read the environment); the
 * client and the demo fill it from REFUND_APPROVAL_LIMIT, APPROVAL_TIMEOUT, APPROVAL_ON_TIMEOUT and
 * DESK_APPROVERS (config/approval-policy.ts). The activity checks the limit again with the worker's
 * own REFUND_APPROVAL_LIMIT.
 */
export interface ApprovalPolicy {
  /** Refunds above this many cents wait for a person. */
  refundApprovalLimitCents: number;
  /** How long an approval may wait for a decision before it is escalated. */
  approvalTimeoutMs: number;
  /** What the deadline does: decline the refund (and tell the customer), or mark it escalated (still decidable). */
  onApprovalTimeout: 'reject' | 'escalate';
  /** When not empty, only these people may decide. */
  approvers: string[];
}

export const DEFAULT_APPROVAL_POLICY: ApprovalPolicy = {
  refundApprovalLimitCents: 200_00,
  approvalTimeoutMs: 24 * 60 * 60 * 1000,
  onApprovalTimeout: 'reject',
  approvers: [],
};

/** What a caller may set the policy to (inclusive); outside these a start is refused. */
export const APPROVAL_POLICY_RANGES = {
  refundApprovalLimitCents: [0, 100_000_000_00],
  approvalTimeoutMs: [1_000, 90 * 24 * 60 * 60 * 1000],
  /** At most this many approvers, each a name as `by` allows. */
  maxApprovers: 50,
} as const;

export const APPROVAL_BOUNDS = {
  /** Approvals awaiting a decision (pending or escalated) per conversation; a further request is refused to the model. */
  maxAwaitingApprovals: 10,
  /** Decided approvals kept in the state; older ones are folded into counters. */
  maxDecidedApprovals: 20,
  /** An approval id as a client sends it. */
  maxApprovalIdChars: 64,
  /** Who decided: a person's name or id. */
  maxDeciderChars: 64,
  /** A decision's note. */
  maxNoteChars: 500,
} as const;
