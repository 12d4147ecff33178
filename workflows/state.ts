/**
 * The conversation's state and the pure reducers that change it. Plain functions over one plain
 * serialisable object (no Map, Set or classes): it is what queries return and what
 * continue-as-new carries. Nothing here touches Temporal, so it is unit-tested without a server.
 * Reducers return a new state; the workflow keeps the latest one.
 */
import { AGENTS, ENTRY_AGENT, type AgentName } from './agents';
import type { ChatMessage } from './transcript';

/** Per-conversation limits. Defaults in DEFAULT_LIMITS; a caller may override any of them. */
export interface ConversationLimits {
  /** Model steps one customer message may take before the desk stops and says so. */
  maxStepsPerTurn: number;
  /** Handoffs one customer message may cause. */
  maxHandoffsPerTurn: number;
  /** An idle conversation closes itself after this long (a durable timer). */
  idleTimeoutMs: number;
  /** Continue-as-new once history has this many events (Temporal's own suggestion also counts). */
  continueAsNewAfterEvents: number;
  /** The longest customer message accepted, in characters. */
  maxMessageChars: number;
  /**
   * The transcript is every model step's input and travels through continue-as-new, and Temporal
   * refuses payloads over 2 MB: past this many characters of JSON the oldest turns are archived.
   */
  maxTranscriptChars: number;
}

export const DEFAULT_LIMITS: ConversationLimits = {
  maxStepsPerTurn: 10,
  maxHandoffsPerTurn: 4,
  idleTimeoutMs: 30 * 60 * 1000,
  continueAsNewAfterEvents: 10_000,
  maxMessageChars: 8_000,
  maxTranscriptChars: 400_000,
};

/** One line of the conversation's trail: who had control, when, and why it moved. */
export type TrailEntry =
  | { kind: 'handoff'; from: AgentName; to: AgentName; reason: string; at: string; turn: number }
  | { kind: 'handoff_refused'; from: AgentName; to: string; reason: string; why: string; at: string; turn: number }
  | { kind: 'rollback'; from: AgentName; to: AgentName; reason: string; noop: boolean; at: string; turn: number }
  | { kind: 'guard'; agent: AgentName; limit: GuardLimit; at: string; turn: number };

export type GuardLimit = 'steps' | 'handoffs' | 'ping_pong';

export type ConversationStatus = 'open' | 'closed';

export interface ConversationState {
  customerId: string;
  status: ConversationStatus;
  closedReason?: 'idle' | 'ended';
  currentAgent: AgentName;
  /** The whole transcript, in order: what every model step sees. */
  history: ChatMessage[];
  trail: TrailEntry[];
  /** Customer messages handled so far; keeps counting across continue-as-new (idempotency keys use it). */
  turn: number;
  /** How many times this conversation has continued-as-new. */
  runs: number;
  startedAt: string;
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
  const entry: TrailEntry = { kind: 'handoff', from: state.currentAgent, to, reason, at, turn: state.turn };
  return { ...state, currentAgent: to, trail: [...state.trail, entry] };
}

export function recordRefusedHandoff(state: ConversationState, to: string, reason: string, why: string, at: string): ConversationState {
  const entry: TrailEntry = { kind: 'handoff_refused', from: state.currentAgent, to, reason, why, at, turn: state.turn };
  return { ...state, trail: [...state.trail, entry] };
}

/**
 * Control returns to the receptionist. History is kept and a note is added so the receptionist
 * knows why; a rollback while already with the receptionist changes nothing but is still recorded.
 */
export function applyRollback(state: ConversationState, reason: string, at: string): ConversationState {
  const from = state.currentAgent;
  const noop = from === ENTRY_AGENT;
  const entry: TrailEntry = { kind: 'rollback', from, to: ENTRY_AGENT, reason, noop, at, turn: state.turn };
  const history: ChatMessage[] = noop
    ? state.history
    : [...state.history, { role: 'event', content: `Control was returned from ${from} to ${ENTRY_AGENT}: ${reason}` }];
  return { ...state, currentAgent: ENTRY_AGENT, history, trail: [...state.trail, entry] };
}

export function recordGuard(state: ConversationState, limit: GuardLimit, at: string): ConversationState {
  const entry: TrailEntry = { kind: 'guard', agent: state.currentAgent, limit, at, turn: state.turn };
  return { ...state, trail: [...state.trail, entry] };
}

export function appendMessages(state: ConversationState, ...messages: ChatMessage[]): ConversationState {
  return { ...state, history: [...state.history, ...messages] };
}

export function startTurn(state: ConversationState, text: string): ConversationState {
  return { ...state, turn: state.turn + 1, history: [...state.history, { role: 'user', content: text }] };
}

/**
 * Keep the transcript under `maxChars` of JSON by dropping the oldest whole turns (a turn starts
 * at a user message, so no tool call is ever separated from its result) and leaving a note. The
 * newest turn always stays. The dropped messages remain in Temporal's event history.
 */
export function boundTranscript(state: ConversationState, maxChars: number): ConversationState {
  const sizes = state.history.map((m) => JSON.stringify(m).length + 1);
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total <= maxChars) return state;
  const NOTE_ALLOWANCE = 200;
  let suffix = total;
  let cut = -1;
  for (let i = 0; i < state.history.length; i++) {
    if (i > 0 && state.history[i]!.role === 'user') {
      cut = i;
      if (suffix + NOTE_ALLOWANCE <= maxChars) break;
    }
    suffix -= sizes[i]!;
  }
  if (cut <= 0) return state;
  const note: ChatMessage = { role: 'event', content: `${cut} earlier messages of this conversation were archived to keep it within size limits.` };
  return { ...state, history: [note, ...state.history.slice(cut)] };
}

export function closeConversation(state: ConversationState, why: 'idle' | 'ended'): ConversationState {
  return state.status === 'closed' ? state : { ...state, status: 'closed', closedReason: why };
}

/** Handoffs taken in the given turn, in order. */
export function handoffsInTurn(state: ConversationState, turn: number): Extract<TrailEntry, { kind: 'handoff' }>[] {
  return state.trail.filter((e): e is Extract<TrailEntry, { kind: 'handoff' }> => e.kind === 'handoff' && e.turn === turn);
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
  const path: AgentName[] = [ENTRY_AGENT];
  let totalHandoffs = 0;
  let rollbacks = 0;
  for (const entry of state.trail) {
    if (entry.kind === 'handoff') {
      totalHandoffs++;
      path.push(entry.to);
    } else if (entry.kind === 'rollback') {
      rollbacks++;
      if (!entry.noop) path.push(entry.to);
    }
  }
  const agentsInvolved = path.filter((a, i) => path.indexOf(a) === i);
  return { totalHandoffs, rollbacks, path: path.join(' -> '), agentsInvolved };
}
