/**
 * The conversation workflow: one customer's conversation with the desk, durable across crashes.
 * This file owns the conversation's lifecycle: the start input, the message handlers (update,
 * signals, queries), the ticket gate that runs messages one at a time, the idle timer, and
 * continue-as-new. What happens inside one message is turn.ts; every state change is a reducer in
 * state.ts; every side effect is an activity.
 */
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  setCurrentDetails,
  setDefaultSignalHandler,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { DEFAULT_LIMITS, type ConversationLimits } from '../contract/limits';
import {
  CURRENT_AGENT,
  CUSTOMER_ID,
  FAILURE,
  HANDOFF_COUNT,
  endSignal,
  historyQuery,
  rollbackSignal,
  sendMessageUpdate,
  stateQuery,
  type AgentReply,
  type ConversationInput,
  type ConversationSnapshot,
  type SendMessageInput,
} from './messages';
import { checkConversationInput, checkMessage, rollbackReason } from './schemas';
import { applyRollback, boundState, closeConversation, compactForCarry, initialState, statistics, type ConversationState } from './state';
import { now, runTurn, type Live } from './turn';

export { CANNED } from './turn';

export async function conversation(rawInput: ConversationInput): Promise<ConversationSnapshot> {
  // Any client can start this workflow with anything: check before touching it. A plain error here
  // would fail the workflow task and retry it forever; this fails the execution, once, clearly.
  const checked = checkConversationInput(rawInput);
  if (!checked.ok) {
    throw ApplicationFailure.create({ type: FAILURE.invalidInput, message: `invalid conversation input: ${checked.error}`, nonRetryable: true });
  }
  const input = checked.value;
  const limits: ConversationLimits = { ...DEFAULT_LIMITS, ...input.limits };
  const live: Live = {
    state: input.carried ? boundState(input.carried, limits.maxTranscriptBytes) : initialState(input.customerId, now()),
    limits,
    workflowId: workflowInfo().workflowId,
    runId: workflowInfo().runId,
    publish: publisher(() => live.state),
  };
  const gate = registerHandlers(live);

  live.publish();
  await serve(live, gate, input);
  live.publish();
  await condition(allHandlersFinished);
  return snapshot(live.state, limits);
}

/**
 * Ticket gate: messages run one at a time in arrival order. A shared busy flag would not do,
 * because every satisfied condition wakes in the same activation.
 */
interface Gate {
  /** Messages accepted by this run so far. */
  readonly accepted: () => number;
  readonly idle: () => boolean;
}

function registerHandlers(live: Live): Gate {
  let nextTicket = 0;
  let serving = 0;
  const idle = () => serving === nextTicket;

  setHandler(stateQuery, () => snapshot(live.state, live.limits));
  setHandler(historyQuery, () => live.state.history);
  setHandler(endSignal, () => {
    live.state = closeConversation(live.state, 'ended');
  });
  setHandler(rollbackSignal, (arg: unknown) => {
    if (live.state.status !== 'open') return;
    const reason = rollbackReason(arg);
    if (idle()) {
      live.state = applyRollback(live.state, reason, now());
      live.publish();
    } else {
      live.pendingRollback = reason;
    }
  });
  setHandler(
    sendMessageUpdate,
    async (arg: SendMessageInput): Promise<AgentReply> => {
      const ticket = nextTicket++;
      await condition(() => serving === ticket);
      try {
        if (live.state.status !== 'open') {
          throw ApplicationFailure.create({ type: FAILURE.conversationClosed, message: 'this conversation is closed; start a new one', nonRetryable: true });
        }
        // The validator accepted it; checking again yields the cleaned text (validators do not run on replay).
        const message = checkMessage(arg, live.limits.maxMessageChars);
        if (!message.ok) throw ApplicationFailure.create({ type: FAILURE.invalidMessage, message: message.error, nonRetryable: true });
        return await runTurn(live, message.value);
      } finally {
        serving++;
      }
    },
    { validator: (arg: unknown) => validateMessage(arg, live.state, live.limits) },
  );
  // A signal nobody handles would be buffered in memory for the rest of the run: log and drop it.
  setDefaultSignalHandler((name: string) => {
    log.warn('ignored an unknown signal', { signal: name.slice(0, 64) });
  });
  return { accepted: () => nextTicket, idle };
}

/** Waits for messages until the conversation closes (ended, or idle past the timer), continuing-as-new when history grows long. */
async function serve(live: Live, gate: Gate, input: ConversationInput): Promise<void> {
  const { historyLength: startLength, historySize: startSize } = workflowInfo();
  /** Temporal suggests continue-as-new, or this run added more history than the limits allow. */
  const historyTooLong = (): boolean => {
    const info = workflowInfo();
    return (
      info.continueAsNewSuggested ||
      info.historyLength - startLength >= live.limits.continueAsNewAfterEvents ||
      info.historySize - startSize >= live.limits.continueAsNewAfterBytes
    );
  };
  const open = () => live.state.status === 'open';
  while (open()) {
    await condition(() => gate.idle() || !open());
    if (!open()) break;
    if (historyTooLong()) {
      await condition(allHandlersFinished);
      if (gate.idle() && open()) {
        await continueAsNew<typeof conversation>({ customerId: live.state.customerId, limits: input.limits, carried: compactForCarry(live.state, live.limits.maxTranscriptBytes) });
      }
      continue;
    }
    const seen = gate.accepted();
    // The idle timer is a durable timer: it survives worker and server restarts. It also wakes
    // when signals alone (which a client may pad to 2 MB each) make history too long.
    const active = await condition(() => gate.accepted() !== seen || !open() || historyTooLong(), live.limits.idleTimeoutMs);
    if (!active) live.state = closeConversation(live.state, 'idle');
  }
}

/** Keeps the search attributes and the UI's current details in step with the state; upserts only on change. */
function publisher(current: () => ConversationState): () => void {
  let published: { agent?: string; handoffs?: number } = {};
  return () => {
    const state = current();
    const stats = statistics(state);
    if (published.agent !== state.currentAgent || published.handoffs !== stats.totalHandoffs) {
      upsertSearchAttributes([
        { key: CURRENT_AGENT, value: state.currentAgent },
        { key: CUSTOMER_ID, value: state.customerId },
        { key: HANDOFF_COUNT, value: stats.totalHandoffs },
      ]);
      published = { agent: state.currentAgent, handoffs: stats.totalHandoffs };
    }
    setCurrentDetails(
      `Current agent: **${state.currentAgent}** (${state.status})\n\nPath: ${stats.path}\n\nTurns: ${state.turn}, handoffs: ${stats.totalHandoffs}, rollbacks: ${stats.rollbacks}`,
    );
  };
}

function snapshot(state: ConversationState, limits: ConversationLimits): ConversationSnapshot {
  const { customerId, status, closedReason, currentAgent, turn, trail } = state;
  return { customerId, status, closedReason, currentAgent, turn, trail, statistics: statistics(state), limits };
}

/** Rejects before anything is written to history; the caller sees the message. */
function validateMessage(arg: unknown, state: ConversationState, limits: ConversationLimits): void {
  const reject = (message: string) => {
    throw ApplicationFailure.create({ type: FAILURE.invalidMessage, message, nonRetryable: true });
  };
  if (state.status !== 'open') reject('this conversation is closed; start a new one');
  const checked = checkMessage(arg, limits.maxMessageChars);
  if (!checked.ok) reject(checked.error);
}
