/**
 * The conversation workflow: one customer's conversation with the desk, durable across crashes.
 * It owns control flow and nothing else: which agent has the customer, when a handoff or a
 * rollback happens, which tool calls are allowed, and when the conversation ends. Model steps
 * and tool calls are activities; state changes go through the pure reducers in state.ts.
 *
 * A turn: the customer's message arrives by update; the current agent's model step returns a
 * reply (the turn ends) or tool calls; a `transfer_to_<agent>` call is a state transition here,
 * a function tool call is an activity with an idempotency key built here; repeat, within limits.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  setCurrentDetails,
  setDefaultSignalHandler,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { AGENTS, ENTRY_AGENT, HANDOFF_PREFIX, type AgentName } from '../agents';
import {
  CURRENT_AGENT,
  CUSTOMER_ID,
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
  type TurnEvent,
} from './messages';
import { BOUNDS } from '../contract/limits';
import { MODEL_STEP, TOOL_CALL, callModel, runTool } from './options';
import {
  DEFAULT_LIMITS,
  appendMessages,
  applyHandoff,
  applyRollback,
  boundState,
  boundToolCalls,
  boundTranscript,
  checkHandoff,
  dropTurnWork,
  closeConversation,
  compactForCarry,
  initialState,
  isPingPong,
  recordGuard,
  recordRefusedHandoff,
  startTurn,
  statistics,
  transcriptBytes,
  type ConversationLimits,
  type ConversationState,
  type GuardLimit,
} from './state';
import { checkConversationInput, checkMessage, rollbackReason } from './schemas';
import { modelStepSummary, toolCallSummary } from './summaries';
import type { ModelStepResult, ToolCallRequest, ToolRunResult } from '../contract/transcript';

/** Replies the desk gives on its own, when no model reply can be used. */
export const CANNED = {
  steps: 'I am sorry, I could not finish this request automatically. Please rephrase it, or ask for a person and a colleague will follow up.',
  handoffs: 'I am sorry, your request went back and forth between our teams without an answer. A colleague will look at it; you can also rephrase it.',
  transcript: 'I am sorry, this request produced more data than I can keep in one conversation. Please ask for one thing at a time, or ask for a person.',
  modelFailed: 'I am sorry, our assistant is unavailable right now. Nothing further was changed; please try again in a few minutes.',
} as const;

export async function conversation(rawInput: ConversationInput): Promise<ConversationSnapshot> {
  // Any client can start this workflow with anything: check before touching it. A plain error here
  // would fail the workflow task and retry it forever; this fails the execution, once, clearly.
  const checked = checkConversationInput(rawInput);
  if (!checked.ok) {
    throw ApplicationFailure.create({ type: 'InvalidConversationInput', message: `invalid conversation input: ${checked.error}`, nonRetryable: true });
  }
  const input = checked.value;
  const limits: ConversationLimits = { ...DEFAULT_LIMITS, ...input.limits };
  const { workflowId, historyLength: startLength, historySize: startSize } = workflowInfo();
  /** Time to continue-as-new: Temporal suggests it, or this run added more history than the limits allow. */
  const historyTooLong = (): boolean => {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength - startLength >= limits.continueAsNewAfterEvents || info.historySize - startSize >= limits.continueAsNewAfterBytes;
  };
  let state: ConversationState = input.carried ? boundState(input.carried, limits.maxTranscriptBytes) : initialState(input.customerId, now());

  // Ticket gate: messages run one at a time in arrival order. A shared busy flag would not do,
  // because every satisfied condition wakes in the same activation.
  let nextTicket = 0; // also the count of messages accepted by this run
  let serving = 0;
  const idle = () => serving === nextTicket;
  /** A rollback that arrived mid-turn, applied at the next step boundary. */
  let pendingRollback: string | undefined;

  setHandler(stateQuery, () => snapshot(state, limits));
  setHandler(historyQuery, () => state.history);
  setHandler(endSignal, () => {
    state = closeConversation(state, 'ended');
  });
  setHandler(rollbackSignal, (arg: unknown) => {
    if (state.status !== 'open') return;
    const reason = rollbackReason(arg);
    if (idle()) {
      state = applyRollback(state, reason, now());
      publish();
    } else {
      pendingRollback = reason;
    }
  });
  setHandler(
    sendMessageUpdate,
    async (arg: SendMessageInput): Promise<AgentReply> => {
      const ticket = nextTicket++;
      await condition(() => serving === ticket);
      try {
        if (state.status !== 'open') {
          throw ApplicationFailure.create({ type: 'ConversationClosed', message: 'this conversation is closed; start a new one', nonRetryable: true });
        }
        // The validator accepted it; checking again yields the cleaned text (and costs nothing on replay, where validators do not run).
        const message = checkMessage(arg, limits.maxMessageChars);
        if (!message.ok) throw ApplicationFailure.create({ type: 'InvalidMessage', message: message.error, nonRetryable: true });
        return await runTurn(message.value);
      } finally {
        serving++;
      }
    },
    { validator: (arg: unknown) => validateMessage(arg, state, limits) },
  );
  // A signal nobody handles would be buffered in memory for the rest of the run: log and drop it.
  setDefaultSignalHandler((name: string) => {
    log.warn('ignored an unknown signal', { signal: name.slice(0, 64) });
  });

  let published: { agent?: string; handoffs?: number } = {};
  /** Keep the search attributes and the UI's current details in step with the state. */
  function publish(): void {
    const stats = statistics(state);
    if (published.agent !== state.currentAgent || published.handoffs !== stats.totalHandoffs) {
      upsertSearchAttributes([
        { key: CURRENT_AGENT, value: state.currentAgent },
        { key: CUSTOMER_ID, value: state.customerId },
        { key: HANDOFF_COUNT, value: stats.totalHandoffs },
      ]);
      published = { agent: state.currentAgent, handoffs: stats.totalHandoffs };
    }
    setCurrentDetails(`Current agent: **${state.currentAgent}** (${state.status})\n\nPath: ${stats.path}\n\nTurns: ${state.turn}, handoffs: ${stats.totalHandoffs}, rollbacks: ${stats.rollbacks}`);
  }

  function takeRollback(events: TurnEvent[]): void {
    if (pendingRollback === undefined) return;
    const reason = pendingRollback;
    pendingRollback = undefined;
    const from = state.currentAgent;
    state = applyRollback(state, reason, now());
    events.push({ type: 'rollback', from, to: ENTRY_AGENT, reason, noop: from === ENTRY_AGENT });
    publish();
  }

  function answerTool(call: ToolCallRequest, result: ToolRunResult): void {
    state = appendMessages(state, { role: 'tool', toolCallId: call.id, name: call.name, content: JSON.stringify(result) });
  }

  /** Run the model step, abandoning it if a rollback arrives meanwhile (a model step has no side effects). */
  async function modelStep(agent: AgentName): Promise<ModelStepResult | { kind: 'interrupted' } | { kind: 'failed'; error: string }> {
    const call = new CancellationScope();
    const watch = new CancellationScope();
    const stepDone = call.run(() => callModel.executeWithOptions({ ...MODEL_STEP, summary: modelStepSummary(agent) }, [{ agent, messages: state.history }]));
    const rollbackArrived = watch.run(() => condition(() => pendingRollback !== undefined));
    // Both promises are settled by one side or cancelled by the other: neither may reject unhandled.
    stepDone.catch(() => undefined);
    rollbackArrived.catch(() => undefined);
    try {
      const first = await Promise.race([stepDone, rollbackArrived.then(() => 'rollback' as const)]);
      if (first === 'rollback') {
        call.cancel();
        return { kind: 'interrupted' };
      }
      return first;
    } catch (err) {
      if (err instanceof ActivityFailure && !isCancellation(err)) {
        return { kind: 'failed', error: failureText(err) };
      }
      throw err;
    } finally {
      watch.cancel();
    }
  }

  async function runTurn(text: string): Promise<AgentReply> {
    state = boundTranscript(startTurn(state, text), limits.maxTranscriptBytes);
    const turn = state.turn;
    const events: TurnEvent[] = [];
    let handoffs = 0;
    const finish = (agent: AgentName, reply: string): AgentReply => {
      state = appendMessages(state, { role: 'assistant', agent, content: reply });
      takeRollback(events);
      publish();
      return { agent, text: reply, turn, events };
    };
    const guard = (limit: GuardLimit): AgentReply => {
      state = recordGuard(state, limit, now());
      events.push({ type: 'guard', agent: state.currentAgent, limit });
      return finish(state.currentAgent, limit === 'steps' ? CANNED.steps : limit === 'transcript' ? CANNED.transcript : CANNED.handoffs);
    };

    for (let step = 0; step < limits.maxStepsPerTurn; step++) {
      takeRollback(events);
      const agent = state.currentAgent;
      const result = await modelStep(agent);
      if (result.kind === 'interrupted') {
        events.push({ type: 'model_step', agent, outcome: 'interrupted' });
        continue; // the loop's head applies the rollback; the receptionist takes the next step
      }
      if (result.kind === 'failed') {
        events.push({ type: 'model_step', agent, outcome: 'failed', error: result.error });
        return finish(agent, CANNED.modelFailed);
      }
      if (result.kind !== 'tool_calls') {
        events.push({ type: 'model_step', agent, outcome: result.kind });
        return finish(agent, result.text);
      }

      // The workflow names the calls: some servers reuse ids such as `call_0` in every response.
      // A model can be talked into anything, so its calls are bounded before they are stored.
      const bounded = boundToolCalls(result.calls.map((c, i) => ({ ...c, id: `call_${turn}_${step}_${i}` })));
      const calls = bounded.calls;
      events.push({ type: 'model_step', agent, outcome: result.kind, ...(bounded.dropped > 0 && { droppedCalls: bounded.dropped }) });
      state = appendMessages(state, { role: 'assistant', agent, content: result.text, toolCalls: calls });

      // Every call gets exactly one tool message, run or not, or the next model request is invalid.
      // Rule: calls run in order; the first allowed handoff ends the response and later calls are
      // answered as not run. A rollback or a guard likewise stops the calls after it.
      let stopped: string | undefined;
      let guardHit: GuardLimit | undefined;
      for (const [index, call] of calls.entries()) {
        if (stopped === undefined && pendingRollback !== undefined) stopped = 'control was returned to the receptionist';
        if (stopped !== undefined) {
          events.push({ type: 'tool_skipped', agent, tool: call.name, why: stopped });
          answerTool(call, { ok: false, code: 'invalid_state', message: `not run: ${stopped}` });
          continue;
        }
        if (bounded.oversized.includes(call.id)) {
          const result: ToolRunResult = { ok: false, code: 'invalid_arguments', message: `not run: the arguments are longer than the limit of ${BOUNDS.maxToolArgumentChars} characters` };
          events.push({ type: 'tool_call', agent, tool: call.name, arguments: call.arguments, result });
          answerTool(call, result);
          continue;
        }
        if (call.name.startsWith(HANDOFF_PREFIX)) {
          const to = call.name.slice(HANDOFF_PREFIX.length);
          const reason = handoffReason(call.arguments);
          const decision = reason === undefined ? { ok: false as const, why: 'a handoff needs a reason: {"reason": "..."}' } : checkHandoff(agent, to);
          if (!decision.ok) {
            state = recordRefusedHandoff(state, to, reason ?? '', decision.why, now());
            events.push({ type: 'handoff_refused', from: agent, to, reason: reason ?? '', why: decision.why });
            answerTool(call, { ok: false, code: 'not_allowed', message: decision.why });
            continue;
          }
          if (handoffs >= limits.maxHandoffsPerTurn || isPingPong(state, decision.to)) {
            guardHit = handoffs >= limits.maxHandoffsPerTurn ? 'handoffs' : 'ping_pong';
            stopped = `the handoff limit for this message was reached`;
            answerTool(call, { ok: false, code: 'over_limit', message: `not run: ${stopped}` });
            continue;
          }
          state = applyHandoff(state, decision.to, reason!, now());
          handoffs++;
          events.push({ type: 'handoff', from: agent, to: decision.to, reason: reason! });
          answerTool(call, { ok: true, data: { transferred_to: decision.to } });
          publish();
          stopped = `control was handed to ${decision.to}`;
          continue;
        }
        const allowed: readonly string[] = AGENTS[agent].tools;
        if (!allowed.includes(call.name)) {
          const result: ToolRunResult = { ok: false, code: 'not_allowed', message: `${call.name} is not one of ${agent}'s tools; available: ${allowed.join(', ') || 'none'}` };
          events.push({ type: 'tool_call', agent, tool: call.name, arguments: call.arguments, result });
          answerTool(call, result);
          continue;
        }
        const result = await runToolCall(agent, call, `${workflowId}:${turn}:${step}:${index}`);
        events.push({ type: 'tool_call', agent, tool: call.name, arguments: call.arguments, result });
        answerTool(call, result);
      }
      if (guardHit) return guard(guardHit);
      // Older turns are archived first; a turn that is too large on its own is stopped here.
      state = boundTranscript(state, limits.maxTranscriptBytes);
      if (transcriptBytes(state.history) > limits.maxTranscriptBytes) {
        state = dropTurnWork(state);
        return guard('transcript');
      }
    }
    return guard('steps');
  }

  async function runToolCall(agent: AgentName, call: ToolCallRequest, idempotencyKey: string): Promise<ToolRunResult> {
    try {
      return await runTool.executeWithOptions({ ...TOOL_CALL, summary: toolCallSummary(agent, call.name, call.arguments) }, [
        { agent, tool: call.name, arguments: call.arguments, customerId: state.customerId, idempotencyKey },
      ]);
    } catch (err) {
      // Only non-retryable failures get here (TOOL_CALL retries transient ones without limit).
      // The model hears that it failed, so the history stays valid and the customer gets an answer.
      if (err instanceof ActivityFailure) {
        return { ok: false, code: 'invalid_state', message: `the ${call.name} tool failed and did nothing further: ${failureText(err)}` };
      }
      throw err;
    }
  }

  publish();
  while (state.status === 'open') {
    await condition(() => idle() || state.status !== 'open');
    if (state.status !== 'open') break;
    if (historyTooLong()) {
      await condition(allHandlersFinished);
      if (idle() && state.status === 'open') {
        await continueAsNew<typeof conversation>({ customerId: state.customerId, limits: input.limits, carried: compactForCarry(state, limits.maxTranscriptBytes) });
      }
      continue;
    }
    const seen = nextTicket;
    // The idle timer is a durable timer: it survives worker and server restarts.
    // Also wakes when signals alone (which a client may pad to 2 MB each) make history too long.
    const active = await condition(() => nextTicket !== seen || state.status !== 'open' || historyTooLong(), limits.idleTimeoutMs);
    if (!active) state = closeConversation(state, 'idle');
  }
  publish();
  await condition(allHandlersFinished);
  return snapshot(state, limits);
}

function snapshot(state: ConversationState, limits: ConversationLimits): ConversationSnapshot {
  const { customerId, status, closedReason, currentAgent, turn, trail } = state;
  return { customerId, status, closedReason, currentAgent, turn, trail, statistics: statistics(state), limits };
}

/** Rejects before anything is written to history; the caller sees the message. */
function validateMessage(arg: unknown, state: ConversationState, limits: ConversationLimits): void {
  const reject = (message: string) => {
    throw ApplicationFailure.create({ type: 'InvalidMessage', message, nonRetryable: true });
  };
  if (state.status !== 'open') reject('this conversation is closed; start a new one');
  const checked = checkMessage(arg, limits.maxMessageChars);
  if (!checked.ok) reject(checked.error);
}


/** The handoff's reason, or undefined when the model gave none (the handoff is then refused). */
function handoffReason(argumentsJson: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(argumentsJson || '{}');
    const reason = (parsed as { reason?: unknown } | null)?.reason;
    return typeof reason === 'string' && reason.trim() ? reason.trim() : undefined;
  } catch {
    return undefined;
  }
}

function failureText(err: ActivityFailure): string {
  const cause = err.cause;
  if (cause instanceof ApplicationFailure) return `${cause.type ?? 'Error'}: ${cause.message}`;
  return cause?.message ?? err.message;
}

/** Workflow time: deterministic, replayed from history. */
function now(): string {
  return new Date().toISOString();
}
