/**
 * The conversation's state and the pure reducers that change it. Plain functions over one plain
 * serialisable object (no Map, Set or classes): it is what queries return and what
 * continue-as-new carries. Nothing here touches Temporal, so it is unit-tested without a server.
 * Reducers return a new state; the workflow keeps the latest one.
 */
import { AGENTS, ENTRY_AGENT, HANDOFF_PREFIX, type AgentName } from '../agents';
import { APPROVAL_BOUNDS, BOUNDS, cut, jsonBytes } from '../contract/limits';
import type { ChatMessage, ToolCallRequest, ToolRefusalCode, ToolRunResult } from '../contract/transcript';
import { addUsage, type StepUsage, type UsageTotals } from '../contract/usage';
import { boundApprovals, type Approval, type ApprovalTrailEntry, type ApprovalsFolded } from './approvals';

export { DEFAULT_LIMITS, type ConversationLimits } from '../contract/limits';

/** One line of the conversation's trail: who had control, when, and why it moved. */
export type TrailEntry =
  | { kind: 'handoff'; from: AgentName; to: AgentName; reason: string; reasonCut?: number; at: string; turn: number }
  | { kind: 'handoff_refused'; from: AgentName; to: string; reason: string; why: string; at: string; turn: number }
  | {
      kind: 'rollback';
      from: AgentName;
      to: AgentName;
      reason: string;
      reasonCut?: number;
      noop: boolean;
      at: string;
      turn: number;
    }
  | { kind: 'guard'; agent: AgentName; limit: GuardLimit; at: string; turn: number }
  | ApprovalTrailEntry;

/** Which per-turn guard stopped a turn: too many steps, too many handoffs, ping-pong, or a turn too large to keep. */
export type GuardLimit = 'steps' | 'handoffs' | 'ping_pong' | 'transcript';

/** What the trail's oldest entries said, once they are folded away to keep the trail bounded. */
export interface TrailSummary {
  entries: number;
  handoffs: number;
  rollbacks: number;
  agentsInvolved: AgentName[];
  /** Who had control after the last folded entry: where the kept part of the path starts. */
  agentAfter: AgentName;
}

export type ConversationStatus = 'open' | 'closed';

export interface ConversationState {
  customerId: string;
  status: ConversationStatus;
  closedReason?: 'idle' | 'ended';
  currentAgent: AgentName;
  /** The whole transcript, in order: what every model step sees. */
  history: ChatMessage[];
  /** The newest BOUNDS.maxTrailEntries entries; older ones are counted in `trailFolded`. */
  trail: TrailEntry[];
  trailFolded?: TrailSummary;
  /** Customer messages handled so far; keeps counting across continue-as-new (idempotency keys use it). */
  turn: number;
  /** How many times this conversation has continued-as-new. */
  runs: number;
  startedAt: string;
  /**
   * Refunds waiting for a person, and the newest decided ones (approvals.ts): at most
   * APPROVAL_BOUNDS.maxAwaitingApprovals awaiting plus maxDecidedApprovals decided. Absent until
   * the first approval.
   */
  approvals?: Approval[];
  approvalsFolded?: ApprovalsFolded;
  /**
   * Tokens and cost of every model step so far, per agent and in all (contract/usage.ts); carried
   * across continue-as-new. Absent until the first step that reported usage.
   */
  usage?: UsageTotals;
}

/** The tracker's statistics, derived from the trail: never stored, so never out of date. */
export interface ConversationStatistics {
  totalHandoffs: number;
  rollbacks: number;
  /** e.g. `receptionist -> order -> billing` */
  path: string;
  agentsInvolved: AgentName[];
}

export function initialState(customerId: string, at: string): ConversationState {
  return {
    customerId,
    status: 'open',
    currentAgent: ENTRY_AGENT,
    history: [],
    trail: [],
    turn: 0,
    runs: 0,
    startedAt: at,
  };
}

export type HandoffDecision = { ok: true; to: AgentName } | { ok: false; why: string };

/** Is `from` allowed to hand off to the agent named `to`? The agent spec is the only authority. */
export function checkHandoff(from: AgentName, to: string): HandoffDecision {
  const allowed: readonly string[] = AGENTS[from].handoffs;
  if (!allowed.includes(to)) {
    const known = (Object.keys(AGENTS) as string[]).includes(to);
    return {
      ok: false,
      why: known
        ? `${from} may not hand off to ${to}; allowed: ${allowed.join(', ') || 'none'}`
        : `there is no agent named ${to}; allowed: ${allowed.join(', ') || 'none'}`,
    };
  }
  return { ok: true, to: to as AgentName };
}

export function applyHandoff(state: ConversationState, to: AgentName, reason: string, at: string): ConversationState {
  const { text, cutFrom } = cut(reason, BOUNDS.maxReasonChars);
  const entry: TrailEntry = {
    kind: 'handoff',
    from: state.currentAgent,
    to,
    reason: text,
    ...(cutFrom && { reasonCut: cutFrom }),
    at,
    turn: state.turn,
  };
  return { ...pushTrail(state, entry), currentAgent: to };
}

export function recordRefusedHandoff(
  state: ConversationState,
  to: string,
  reason: string,
  why: string,
  at: string,
): ConversationState {
  const entry: TrailEntry = {
    kind: 'handoff_refused',
    from: state.currentAgent,
    to: cut(to, BOUNDS.maxToolNameChars).text,
    reason: cut(reason, BOUNDS.maxReasonChars).text,
    why: cut(why, BOUNDS.maxReasonChars).text,
    at,
    turn: state.turn,
  };
  return pushTrail(state, entry);
}

/**
 * Appends to the trail, folding the oldest entries into `trailFolded` past BOUNDS.maxTrailEntries,
 * so the trail stays bounded and the statistics stay exact.
 */
export function pushTrail(state: ConversationState, entry: TrailEntry): ConversationState {
  const trail = [...state.trail, entry];
  const sizes = trail.map((e) => sizeOf(e) + 1);
  let bytes = sizes.reduce((a, b) => a + b, 1);
  let drop = 0;
  while (trail.length - drop > BOUNDS.maxTrailEntries || bytes > BOUNDS.maxTrailBytes) bytes -= sizes[drop++]!;
  if (drop === 0) return { ...state, trail };
  const folded = trail.slice(0, drop);
  let summary: TrailSummary = state.trailFolded ?? {
    entries: 0,
    handoffs: 0,
    rollbacks: 0,
    agentsInvolved: [ENTRY_AGENT],
    agentAfter: ENTRY_AGENT,
  };
  for (const e of folded) {
    const moved = e.kind === 'handoff' || (e.kind === 'rollback' && !e.noop) ? e.to : undefined;
    summary = {
      entries: summary.entries + 1,
      handoffs: summary.handoffs + (e.kind === 'handoff' ? 1 : 0),
      rollbacks: summary.rollbacks + (e.kind === 'rollback' ? 1 : 0),
      agentsInvolved:
        moved && !summary.agentsInvolved.includes(moved) ? [...summary.agentsInvolved, moved] : summary.agentsInvolved,
      agentAfter: moved ?? summary.agentAfter,
    };
  }
  return { ...state, trail: trail.slice(drop), trailFolded: summary };
}

/**
 * Control returns to the receptionist. History is kept and a note is added so the receptionist
 * knows why; a rollback while already with the receptionist changes nothing but is still recorded.
 */
export function applyRollback(state: ConversationState, reason: string, at: string): ConversationState {
  const from = state.currentAgent;
  const noop = from === ENTRY_AGENT;
  // The reason comes from whoever sent the signal: cut, and the cut recorded.
  const { text, cutFrom } = cut(reason, BOUNDS.maxReasonChars);
  const entry: TrailEntry = {
    kind: 'rollback',
    from,
    to: ENTRY_AGENT,
    reason: text,
    ...(cutFrom && { reasonCut: cutFrom }),
    noop,
    at,
    turn: state.turn,
  };
  const history: ChatMessage[] = noop
    ? state.history
    : [...state.history, { role: 'event', content: `Control was returned from ${from} to ${ENTRY_AGENT}: ${text}` }];
  return { ...pushTrail(state, entry), currentAgent: ENTRY_AGENT, history };
}

/** One model step's tokens and cost, added to the agent's and the conversation's sums. */
export function recordUsage(state: ConversationState, agent: AgentName, step: StepUsage): ConversationState {
  // The activity's numbers, bounded: a sum must stay a safe integer whatever a server reports.
  const tokens = (x: number) => (Number.isFinite(x) && x > 0 ? Math.min(Math.floor(x), 1e9) : 0);
  const bounded: StepUsage = {
    ...step,
    inputTokens: tokens(step.inputTokens),
    outputTokens: tokens(step.outputTokens),
    cachedInputTokens: tokens(step.cachedInputTokens),
    ...(step.costUsd !== undefined && {
      costUsd: Number.isFinite(step.costUsd) && step.costUsd > 0 ? Math.min(step.costUsd, 1e6) : 0,
    }),
  };
  return { ...state, usage: addUsage(state.usage, agent, bounded) };
}

export function recordGuard(state: ConversationState, limit: GuardLimit, at: string): ConversationState {
  return pushTrail(state, { kind: 'guard', agent: state.currentAgent, limit, at, turn: state.turn });
}

/** Appends to the transcript, each message within its bounds (BOUNDS): the last line of defence. */
export function appendMessages(state: ConversationState, ...messages: ChatMessage[]): ConversationState {
  return { ...state, history: [...state.history, ...messages.map(boundMessage)] };
}

export function boundMessage(message: ChatMessage): ChatMessage {
  switch (message.role) {
    case 'assistant': {
      const content = message.content === null ? null : cut(message.content, BOUNDS.maxModelTextChars).text;
      return message.toolCalls
        ? { ...message, content, toolCalls: boundToolCalls(message.toolCalls).calls }
        : { ...message, content };
    }
    case 'tool':
      return {
        ...message,
        name: cut(message.name, BOUNDS.maxToolNameChars).text,
        content: cut(message.content, BOUNDS.maxToolResultChars).text,
      };
    case 'user':
    case 'event':
      // Customer messages are bounded by the validator (maxMessageChars, at most 32,000).
      return message.content.length > 32_000 ? { ...message, content: cut(message.content, 32_000).text } : message;
  }
}

/**
 * A model response's tool calls within bounds: at most BOUNDS.maxToolCallsPerStep (the rest are
 * dropped and counted), names cut, and arguments over BOUNDS.maxToolArgumentChars replaced by `{}`
 * and listed in `oversized` so the workflow answers them as refused rather than running them.
 */
export function boundToolCalls(calls: readonly ToolCallRequest[]): {
  calls: ToolCallRequest[];
  dropped: number;
  oversized: string[];
} {
  const oversized: string[] = [];
  // Fresh objects with exactly the stored fields: a model step's calls carry more (the UI summary),
  // and the transcript is carried through continue-as-new and checked there.
  const kept = calls.slice(0, BOUNDS.maxToolCallsPerStep).map(({ id, name, arguments: args }): ToolCallRequest => {
    const bounded = cut(name, BOUNDS.maxToolNameChars).text;
    if (args.length <= BOUNDS.maxToolArgumentChars) return { id, name: bounded, arguments: args };
    oversized.push(id);
    return { id, name: bounded, arguments: '{}' };
  });
  return { calls: kept, dropped: Math.max(0, calls.length - kept.length), oversized };
}

export function startTurn(state: ConversationState, text: string): ConversationState {
  return { ...state, turn: state.turn + 1, history: [...state.history, { role: 'user', content: text }] };
}

/**
 * A message's or trail entry's size as JSON, counted once per object. The reducers never change a
 * message or an entry in place (each change is a fresh object), so the size of an object seen before
 * is still right: the transcript's budget is then checked at every step without encoding the whole
 * transcript again, which kept a step's workflow code (and so a replay) growing with the
 * conversation. A pure cache: replay computes the same numbers.
 */
const SIZES = new WeakMap<object, number>();
function sizeOf(value: ChatMessage | TrailEntry): number {
  let size = SIZES.get(value);
  if (size === undefined) {
    size = jsonBytes(value);
    SIZES.set(value, size);
  }
  return size;
}

/** The transcript's size as JSON, in UTF-8 bytes: what its budget counts. */
export function transcriptBytes(history: readonly ChatMessage[]): number {
  return history.reduce((sum, m) => sum + sizeOf(m) + 1, 1);
}

/**
 * Keep the transcript under `maxBytes` of JSON by dropping the oldest whole turns (a turn starts
 * at a user message, so no tool call is ever separated from its result) and leaving a note. The
 * newest turn always stays (a turn too large on its own is the `transcript` guard's business,
 * see dropTurnWork). The dropped messages remain in Temporal's event history.
 */
export function boundTranscript(state: ConversationState, maxBytes: number): ConversationState {
  return archiveOldTurns(state, maxBytes).state;
}

/** boundTranscript, and the transcript's size after it (one pass over the messages' sizes). */
function archiveOldTurns(state: ConversationState, maxBytes: number): { state: ConversationState; bytes: number } {
  const sizes = state.history.map((m) => sizeOf(m) + 1);
  const total = sizes.reduce((a, b) => a + b, 1);
  if (total <= maxBytes) return { state, bytes: total };
  const NOTE_ALLOWANCE = 200;
  let suffix = total;
  let from = -1;
  for (let i = 0; i < state.history.length; i++) {
    if (i > 0 && state.history[i]!.role === 'user') {
      from = i;
      if (suffix + NOTE_ALLOWANCE <= maxBytes) break;
    }
    suffix -= sizes[i]!;
  }
  if (from <= 0) return { state, bytes: total };
  const note: ChatMessage = {
    role: 'event',
    content: `${from} earlier messages of this conversation were archived to keep it within size limits.`,
  };
  const kept = sizes.slice(from).reduce((a, b) => a + b, 1);
  return { state: { ...state, history: [note, ...state.history.slice(from)] }, bytes: kept + jsonBytes(note) + 1 };
}

/**
 * When one turn's own work (tool calls and results) outgrows the transcript budget: keep the
 * customer's message, replace the rest of the turn with a note. Whole tool exchanges go, so every
 * remaining tool call still has its result.
 */
export function dropTurnWork(state: ConversationState): ConversationState {
  let userAt = -1;
  for (let i = state.history.length - 1; i >= 0; i--) {
    if (state.history[i]!.role === 'user') {
      userAt = i;
      break;
    }
  }
  const dropped = state.history.length - userAt - 1;
  if (dropped <= 0) return state;
  const note: ChatMessage = {
    role: 'event',
    content: `${dropped} messages of this turn (tool calls and their results) were dropped: together they were too large to keep.`,
  };
  return { ...state, history: [...state.history.slice(0, userAt + 1), note] };
}

/**
 * Any state brought within every bound: each message and trail entry cut to its limits, the trail
 * folded, the transcript compacted. Applied to a carried state on arrival, so a state from an
 * older release (or a hand-made one) is bounded, not refused.
 */
export function boundState(state: ConversationState, maxTranscriptBytes: number): ConversationState {
  let next: ConversationState = { ...state, history: state.history.map(boundMessage), trail: [] };
  for (const entry of state.trail) next = pushTrail(next, boundEntry(entry));
  return compactTranscript(boundApprovals(next), maxTranscriptBytes).state;
}

function boundEntry(entry: TrailEntry): TrailEntry {
  switch (entry.kind) {
    case 'handoff':
    case 'rollback': {
      const { text, cutFrom } = cut(entry.reason, BOUNDS.maxReasonChars);
      return cutFrom ? { ...entry, reason: text, reasonCut: entry.reasonCut ?? cutFrom } : entry;
    }
    case 'handoff_refused':
      return {
        ...entry,
        to: cut(entry.to, BOUNDS.maxToolNameChars).text,
        reason: cut(entry.reason, BOUNDS.maxReasonChars).text,
        why: cut(entry.why, BOUNDS.maxReasonChars).text,
      };
    case 'guard':
      return entry;
    case 'approval':
      return {
        ...entry,
        approvalId: cut(entry.approvalId, APPROVAL_BOUNDS.maxApprovalIdChars).text,
        orderId: cut(entry.orderId, 16).text,
        ...(entry.by !== undefined && { by: cut(entry.by, APPROVAL_BOUNDS.maxDeciderChars).text }),
        ...(entry.note !== undefined && { note: cut(entry.note, APPROVAL_BOUNDS.maxNoteChars).text }),
      };
  }
}

/**
 * The transcript within `maxBytes`: oldest turns first, then, when the newest turn alone is too
 * large (`overBudget`), that turn's tool work. The turn stops with the `transcript` guard then.
 */
export function compactTranscript(
  state: ConversationState,
  maxBytes: number,
): { state: ConversationState; overBudget: boolean } {
  const archived = archiveOldTurns(state, maxBytes);
  if (archived.bytes <= maxBytes) return { state: archived.state, overBudget: false };
  return { state: dropTurnWork(archived.state), overBudget: true };
}

/**
 * The state as continue-as-new carries it, within HISTORY_BUDGET.carriedStateBytes: the trail is
 * bounded as it grows (pushTrail); the transcript is bounded here, oldest turns first, then the
 * newest turn's tool work if that alone is too large.
 */
export function compactForCarry(state: ConversationState, maxTranscriptBytes: number): ConversationState {
  return { ...compactTranscript(state, maxTranscriptBytes).state, runs: state.runs + 1 };
}

export function closeConversation(state: ConversationState, why: 'idle' | 'ended'): ConversationState {
  return state.status === 'closed' ? state : { ...state, status: 'closed', closedReason: why };
}

/** Handoffs taken in the given turn, in order. */
export function handoffsInTurn(state: ConversationState, turn: number): Extract<TrailEntry, { kind: 'handoff' }>[] {
  return state.trail.filter(
    (e): e is Extract<TrailEntry, { kind: 'handoff' }> => e.kind === 'handoff' && e.turn === turn,
  );
}

/**
 * Would handing off `from -> to` repeat a handoff already taken this turn? That is the
 * A -> B -> A -> B ping-pong: one return trip is legitimate (billing asks order for details),
 * the same hop twice in one turn is a loop.
 */
export function isPingPong(state: ConversationState, to: AgentName): boolean {
  return handoffsInTurn(state, state.turn).some((h) => h.from === state.currentAgent && h.to === to);
}

export function statistics(state: ConversationState): ConversationStatistics {
  const folded = state.trailFolded;
  const path: string[] = folded ? ['…', folded.agentAfter] : [ENTRY_AGENT];
  let totalHandoffs = folded?.handoffs ?? 0;
  let rollbacks = folded?.rollbacks ?? 0;
  for (const entry of state.trail) {
    if (entry.kind === 'handoff') {
      totalHandoffs++;
      path.push(entry.to);
    } else if (entry.kind === 'rollback') {
      rollbacks++;
      if (!entry.noop) path.push(entry.to);
    }
  }
  const agents = [...(folded?.agentsInvolved ?? []), ...path.filter((a): a is AgentName => a !== '…')];
  const agentsInvolved = agents.filter((a, i) => agents.indexOf(a) === i);
  return { totalHandoffs, rollbacks, path: path.join(' -> '), agentsInvolved };
}

/** What a turn has done so far, as far as the per-call rule needs to know. */
export interface TurnProgress {
  /** Handoffs taken so far in this turn. */
  handoffs: number;
  /** Set once the rest of this model response's calls must not run, saying why. */
  stopped?: string;
}

/**
 * What to do with one tool call of a model response. Every decision but `run` carries the tool
 * reply the call gets, so every call in history has exactly one reply, run or not.
 */
export type CallDecision =
  /** Not run: an earlier call in this response stopped the rest (a handoff, a guard) or a rollback arrived. */
  | { kind: 'skip'; why: string; reply: ToolRunResult }
  /** A handoff the agent may not make, or without a reason: recorded in the trail; the model can fix it. */
  | { kind: 'refuse_handoff'; to: string; reason: string; why: string; reply: ToolRunResult }
  /** A function tool this agent may not call, or arguments over the limit: the model can fix it. */
  | { kind: 'refuse_tool'; reply: ToolRunResult }
  /** An allowed handoff that would break a per-turn guard: the turn ends with the guard's reply. */
  | { kind: 'guard'; limit: GuardLimit; reply: ToolRunResult }
  /** An allowed handoff: control moves, and the rest of the response is not run. */
  | { kind: 'handoff'; to: AgentName; reason: string; reply: ToolRunResult }
  /** A function tool the agent may call: run it (an activity). */
  | { kind: 'run' };

export interface CallContext {
  /** A rollback arrived and waits for the next step boundary. */
  rollbackPending: boolean;
  /** The call's arguments were over BOUNDS.maxToolArgumentChars (see boundToolCalls). */
  oversized: boolean;
  maxHandoffsPerTurn: number;
}

/**
 * The per-call rule, in order: calls after a stop are skipped; a pending rollback stops the rest;
 * oversized arguments are refused; a handoff needs a reason and a target the agent lists, and must
 * not break the handoff cap or repeat a hop taken this turn (ping-pong); the first allowed handoff
 * wins; a function tool must be one of the agent's.
 */
export function decideCall(
  state: ConversationState,
  progress: TurnProgress,
  call: ToolCallRequest,
  ctx: CallContext,
): CallDecision {
  const agent = state.currentAgent;
  if (progress.stopped !== undefined) return skip(progress.stopped);
  if (ctx.rollbackPending) return skip(ROLLBACK_STOP);
  if (ctx.oversized) {
    return {
      kind: 'refuse_tool',
      reply: refusal(
        'invalid_arguments',
        `not run: the arguments are longer than the limit of ${BOUNDS.maxToolArgumentChars} characters`,
      ),
    };
  }
  if (call.name.startsWith(HANDOFF_PREFIX)) {
    const to = call.name.slice(HANDOFF_PREFIX.length);
    const reason = handoffReason(call.arguments);
    const check =
      reason === undefined
        ? { ok: false as const, why: 'a handoff needs a reason: {"reason": "..."}' }
        : checkHandoff(agent, to);
    if (!check.ok)
      return {
        kind: 'refuse_handoff',
        to,
        reason: reason ?? '',
        why: check.why,
        reply: refusal('not_allowed', check.why),
      };
    if (progress.handoffs >= ctx.maxHandoffsPerTurn || isPingPong(state, check.to)) {
      return {
        kind: 'guard',
        limit: progress.handoffs >= ctx.maxHandoffsPerTurn ? 'handoffs' : 'ping_pong',
        reply: refusal('over_limit', `not run: ${HANDOFF_LIMIT_STOP}`),
      };
    }
    return { kind: 'handoff', to: check.to, reason: reason!, reply: { ok: true, data: { transferred_to: check.to } } };
  }
  const allowed: readonly string[] = AGENTS[agent].tools;
  if (!allowed.includes(call.name)) {
    return {
      kind: 'refuse_tool',
      reply: refusal(
        'not_allowed',
        `${call.name} is not one of ${agent}'s tools; available: ${allowed.join(', ') || 'none'}`,
      ),
    };
  }
  return { kind: 'run' };
}

/** The turn's progress after a decision: a handoff or a guard stops the rest of the response. */
export function afterCall(progress: TurnProgress, decision: CallDecision): TurnProgress {
  switch (decision.kind) {
    case 'handoff':
      return { handoffs: progress.handoffs + 1, stopped: `control was handed to ${decision.to}` };
    case 'guard':
      return { ...progress, stopped: HANDOFF_LIMIT_STOP };
    case 'skip':
      return { ...progress, stopped: decision.why };
    default:
      return progress;
  }
}

const ROLLBACK_STOP = 'control was returned to the receptionist';
const HANDOFF_LIMIT_STOP = 'the handoff limit for this message was reached';

function skip(why: string): CallDecision {
  return { kind: 'skip', why, reply: refusal('invalid_state', `not run: ${why}`) };
}

function refusal(code: ToolRefusalCode, message: string): ToolRunResult {
  return { ok: false, code, message };
}

/** The handoff's reason, or undefined when the model gave none (the handoff is then refused). */
export function handoffReason(argumentsJson: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(argumentsJson || '{}');
    const reason = (parsed as { reason?: unknown } | null)?.reason;
    return typeof reason === 'string' && reason.trim() ? reason.trim() : undefined;
  } catch {
    return undefined;
  }
}
