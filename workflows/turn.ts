/**
 * One turn: a customer message, answered. The current agent's model step (an activity) returns a
 * reply, which ends the turn, or tool calls; each call gets the decision of the pure rule in
 * state.ts (`decideCall`): a handoff is a state transition here, a function tool is an activity
 * with an idempotency key built here, everything else is answered without running. Repeat, within
 * the per-turn guards. Deterministic workflow code: it runs in the sandbox, and every state change
 * goes through a reducer.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  upsertMemo,
} from '@temporalio/workflow';
import { ENTRY_AGENT, type AgentName } from '../agents';
import { formatCents } from '../contract/refunds';
import { usageMemo, type StepUsage } from '../contract/usage';
import type { ApprovalPolicy, ConversationLimits } from '../contract/limits';
import { EMPTY_DIGEST, extendDigest } from '../contract/digest';
import {
  TRANSCRIPT_NOT_CACHED,
  type ChatMessage,
  type LocalModelStepResult,
  type ModelStepRequest,
  type ModelStepResult,
  type ModelToolCall,
  type ToolCallRequest,
  type ToolRunResult,
} from '../contract/transcript';
import {
  applyDeadlines,
  approvalIdempotencyKey,
  decideRefund,
  decisionMessage,
  findApproval,
  foldDecided,
  recordDecision,
  recordRefund,
  refundArgumentsJson,
  requestApproval,
  type ApprovalDecision,
} from './approvals';
import {
  FAILURE,
  USAGE_MEMO,
  type AgentReply,
  type ApprovalOutcome,
  type ExecutionMode,
  type TurnEvent,
} from './messages';
import {
  MUTATING_TOOLS,
  LOCAL_MODEL_STEP,
  LOCAL_TOOL_CALL,
  MODEL_STEP,
  TOOL_CALL,
  callModel,
  callModelLocal,
  runTool,
  runToolLocally,
} from './options';
import {
  afterCall,
  appendMessages,
  applyHandoff,
  applyRollback,
  boundToolCalls,
  boundTranscript,
  compactTranscript,
  decideCall,
  recordGuard,
  recordRefusedHandoff,
  recordUsage,
  startTurn,
  type CallDecision,
  type ConversationState,
  type GuardLimit,
  type TurnProgress,
} from './state';
import { modelStepSummary, toolCallSummary } from './summaries';
import { deskMetrics, inSpan, instantSpan } from './telemetry';

/** Replies the desk gives on its own, when no model reply can be used. */
export const CANNED = {
  steps:
    'I am sorry, I could not finish this request automatically. Please rephrase it, or ask for a person and a colleague will follow up.',
  handoffs:
    'I am sorry, your request went back and forth between our teams without an answer. A colleague will look at it; you can also rephrase it.',
  transcript:
    'I am sorry, this request produced more data than I can keep in one conversation. Please ask for one thing at a time, or ask for a person.',
  modelFailed:
    'I am sorry, our assistant is unavailable right now. Nothing further was changed; please try again in a few minutes.',
} as const;

const GUARD_REPLY: Record<GuardLimit, string> = {
  steps: CANNED.steps,
  handoffs: CANNED.handoffs,
  ping_pong: CANNED.handoffs,
  transcript: CANNED.transcript,
};

/**
 * The conversation as the turn and the handlers share it. The workflow owns the object; the turn
 * replaces `state` through reducers and clears `pendingRollback` when it applies it.
 */
export interface Live {
  state: ConversationState;
  /** A rollback that arrived mid-turn, applied at the next step boundary. */
  pendingRollback?: string;
  readonly limits: ConversationLimits;
  readonly policy: ApprovalPolicy;
  readonly execution: ExecutionMode;
  readonly workflowId: string;
  readonly runId: string;
  /**
   * What this run's previous model step was given (length and digest of the transcript), so the
   * next one carries only what is new. In memory, not state: replay recomputes it, and a new run
   * starts without it (its first step carries the whole transcript).
   */
  sent?: { length: number; digest: string; first: ChatMessage | undefined; last: ChatMessage | undefined };
  /** Keeps the search attributes and the UI's current details in step with `state`. */
  publish(): void;
}

type StepOutcome = ModelStepResult | { kind: 'interrupted' } | { kind: 'failed'; error: string };

/**
 * Answers one customer message (already validated and cleaned), in the turn's span: with tracing
 * on, the model steps, tool calls and handoffs below are its children, under the client's call.
 */
export function runTurn(live: Live, text: string): Promise<AgentReply> {
  const attributes = {
    'gen_ai.conversation.id': live.workflowId,
    'desk.turn': live.state.turn + 1,
    'desk.agent.start': live.state.currentAgent,
  };
  return inSpan('turn', attributes, async (span) => {
    const reply = await answer(live, text);
    span.setAttributes({
      'desk.agent.end': reply.agent,
      'desk.handoffs': reply.events.filter((e) => e.type === 'handoff').length,
      'desk.model_steps': reply.events.filter((e) => e.type === 'model_step').length,
      ...guardOf(reply),
    });
    return reply;
  });
}

function guardOf(reply: AgentReply): { 'desk.guard'?: string } {
  const guard = reply.events.find((e) => e.type === 'guard');
  return guard ? { 'desk.guard': guard.limit } : {};
}

async function answer(live: Live, text: string): Promise<AgentReply> {
  live.state = boundTranscript(startTurn(live.state, text), live.limits.maxTranscriptBytes);
  const turn = live.state.turn;
  const events: TurnEvent[] = [];
  const finish = (agent: AgentName, reply: string): AgentReply => {
    live.state = appendMessages(live.state, { role: 'assistant', agent, content: reply });
    takeRollback(live, events);
    live.publish();
    if (events.some((e) => e.type === 'model_step' && e.usage)) publishUsage(live.state);
    return { agent, text: reply, turn, events };
  };
  const guard = (limit: GuardLimit): AgentReply => {
    live.state = recordGuard(live.state, limit, now());
    deskMetrics.guard(live.state.currentAgent, limit);
    events.push({ type: 'guard', agent: live.state.currentAgent, limit });
    return finish(live.state.currentAgent, GUARD_REPLY[limit]);
  };

  let progress: TurnProgress = { handoffs: 0 };
  for (let step = 0; step < live.limits.maxStepsPerTurn; step++) {
    takeRollback(live, events);
    const agent = live.state.currentAgent;
    const result = await modelStep(live, agent);
    const usage = 'usage' in result ? result.usage : undefined;
    if (usage) live.state = recordUsage(live.state, agent, usage);
    if (result.kind === 'interrupted' || result.kind === 'failed') {
      events.push({
        type: 'model_step',
        agent,
        outcome: result.kind,
        ...(result.kind === 'failed' && { error: result.error }),
      });
      if (result.kind === 'failed') return finish(agent, CANNED.modelFailed);
      continue; // the loop's head applies the rollback; the receptionist takes the next step
    }
    if (result.kind !== 'tool_calls') {
      events.push({ type: 'model_step', agent, outcome: result.kind, ...(usage && { usage }) });
      return finish(agent, result.text);
    }
    const acted = await actOnCalls(
      live,
      { agent, step, text: result.text, calls: result.calls, usage },
      { handoffs: progress.handoffs },
      events,
    );
    if (acted.guard) return guard(acted.guard);
    progress = acted;
    // Older turns are archived first; a turn that is too large on its own is stopped here.
    const compacted = compactTranscript(live.state, live.limits.maxTranscriptBytes);
    live.state = compacted.state;
    if (compacted.overBudget) return guard('transcript');
  }
  return guard('steps');
}

/**
 * The usage memo `list` reads (tokens and cost without querying every conversation): at the end of
 * each turn whose steps reported usage, and at the start of a run that carries usage (a memo does
 * not follow continue-as-new). One event per turn, and none at all in conversations (and recorded
 * histories) from before usage existed, which so issue exactly the commands they always did.
 */
export function publishUsage(state: ConversationState): void {
  if (state.usage) upsertMemo({ [USAGE_MEMO]: usageMemo(state.usage) });
}

/** Applies a rollback that arrived mid-turn, at a step boundary. */
export function takeRollback(live: Live, events: TurnEvent[]): void {
  if (live.pendingRollback === undefined) return;
  const reason = live.pendingRollback;
  live.pendingRollback = undefined;
  const from = live.state.currentAgent;
  live.state = applyRollback(live.state, reason, now());
  deskMetrics.rollback(from, from === ENTRY_AGENT);
  events.push({ type: 'rollback', from, to: ENTRY_AGENT, reason, noop: from === ENTRY_AGENT });
  live.publish();
}

/**
 * Runs the model step, abandoning it if a rollback arrives meanwhile (a model step has no side
 * effects): an activity is cancelled through its heartbeat, a local one by its worker at once.
 */
async function modelStep(live: Live, agent: AgentName): Promise<StepOutcome> {
  const call = new CancellationScope();
  let settled = false;
  const stepDone: Promise<LocalModelStepResult> = call.run(() =>
    modelStepIsLocal(live.execution)
      ? localModelStep(live, agent)
      : callModel.executeWithOptions({ ...MODEL_STEP, summary: modelStepSummary(agent) }, [
          modelStepRequest(live, agent),
        ]),
  );
  // Settled either way, so the watch below always ends on its own: a cancelled watch would throw a
  // CancelledFailure, and building its stack trace at every step was a visible share of a replay.
  void stepDone.then(
    () => (settled = true),
    () => (settled = true),
  );
  const rollbackArrived = condition(() => settled || live.pendingRollback !== undefined);
  let first: LocalModelStepResult | 'rollback';
  try {
    first = await Promise.race([stepDone, rollbackArrived.then(() => 'rollback' as const)]);
  } catch (err) {
    const error = stepFailureText(err);
    if (error !== undefined) return { kind: 'failed', error };
    throw err;
  }
  if (first === 'rollback') {
    call.cancel();
    return { kind: 'interrupted' };
  }
  if (first.kind !== 'yielded') return first;
  // A local step stopped because a client wrote a rollback interrupt: its signal is waiting on the
  // server, which hands it over as soon as this task ends (a timer ends it). Without one (a row
  // with no signal behind it) the step is asked again; `since` has moved past that row.
  await condition(() => live.pendingRollback !== undefined, YIELD_WAIT_MS);
  return live.pendingRollback !== undefined ? { kind: 'interrupted' } : modelStep(live, agent);
}

/**
 * The model step as a local activity, with what is new since the previous step; when this worker
 * has not got the transcript (it restarted, or took the conversation over), asked again with all
 * of it. Watches the interrupts written after now (workflow time) for a rollback.
 */
async function localModelStep(live: Live, agent: AgentName): Promise<LocalModelStepResult> {
  const options = { ...LOCAL_MODEL_STEP, summary: modelStepSummary(agent) };
  const interrupt = { conversationId: live.workflowId, since: now() };
  const ask = () => callModelLocal.executeWithOptions(options, [{ ...modelStepRequest(live, agent), interrupt }]);
  try {
    return await ask();
  } catch (err) {
    if (!(err instanceof ApplicationFailure && err.type === TRANSCRIPT_NOT_CACHED)) throw err;
    live.sent = undefined; // the next request carries the whole transcript
    return await ask();
  }
}

/** How long a yielded local model step waits for the rollback signal its interrupt announced. */
const YIELD_WAIT_MS = 200;

/**
 * The model step's input: the transcript by length and digest, and only the messages added since
 * this run's previous step (all of them on the run's first step, or when the transcript was
 * compacted since: archiving rewrites its start). Keeps each step's input, and so history, growing
 * with the turn rather than the conversation (activities/transcripts.ts assembles the rest).
 */
function modelStepRequest(live: Live, agent: AgentName): ModelStepRequest {
  const history = live.state.history;
  const sent = live.sent;
  // The reducers only append, replace the start with an archive note, or replace a turn's tail
  // with a note (a fresh object each time): the first and the last message sent still in their
  // places means the whole prefix is unchanged, so the digest extends from it instead of hashing
  // the whole transcript again.
  const extends_ =
    sent !== undefined && sent.length > 0 && history[0] === sent.first && history[sent.length - 1] === sent.last;
  const digest = extends_ ? extendDigest(sent.digest, history.slice(sent.length)) : extendDigest(EMPTY_DIGEST, history);
  live.sent = { length: history.length, digest, first: history[0], last: history[history.length - 1] };
  const transcript = { workflowId: live.workflowId, runId: live.runId, length: history.length, digest };
  if (extends_) {
    return {
      agent,
      transcript,
      delta: { from: sent.length, baseDigest: sent.digest, messages: history.slice(sent.length) },
    };
  }
  return { agent, transcript, delta: { from: 0, baseDigest: EMPTY_DIGEST, messages: history } };
}

/**
 * One model response's tool calls, in order, each answered exactly once (run or not), or the next
 * model request would be invalid. Returns the turn's progress, with the guard that stopped it, if any.
 */
async function actOnCalls(
  live: Live,
  response: { agent: AgentName; step: number; text: string | null; calls: ModelToolCall[]; usage?: StepUsage },
  start: TurnProgress,
  events: TurnEvent[],
): Promise<TurnProgress & { guard?: GuardLimit }> {
  const { agent, step } = response;
  const turn = live.state.turn;
  // The workflow names the calls: some servers reuse ids such as `call_0` in every response.
  // A model can be talked into anything, so its calls are bounded before they are stored.
  const named = response.calls.map((c, i) => ({ ...c, id: `call_${turn}_${step}_${i}` }));
  const bounded = boundToolCalls(named);
  events.push({
    type: 'model_step',
    agent,
    outcome: 'tool_calls',
    ...(bounded.dropped > 0 && { droppedCalls: bounded.dropped }),
    ...(response.usage && { usage: response.usage }),
  });
  live.state = appendMessages(live.state, {
    role: 'assistant',
    agent,
    content: response.text,
    toolCalls: bounded.calls,
  });

  let progress = start;
  let guard: GuardLimit | undefined;
  for (const [index, call] of bounded.calls.entries()) {
    const decision = decideCall(live.state, progress, call, {
      rollbackPending: live.pendingRollback !== undefined,
      oversized: bounded.oversized.includes(call.id),
      maxHandoffsPerTurn: live.limits.maxHandoffsPerTurn,
    });
    progress = afterCall(progress, decision);
    if (decision.kind === 'guard') guard = decision.limit;
    // The refund policy, on the validated arguments: a refund above the limit waits for a person.
    // Only a call with an approval to ask for, or an order whose approval is awaited, takes a new path.
    const refund =
      decision.kind === 'run' && call.name === REFUND_TOOL
        ? decideRefund(live.state, call.arguments, live.policy)
        : undefined;
    let result: ToolRunResult;
    let requested: ReturnType<typeof requestApproval> | undefined;
    if (decision.kind !== 'run') result = decision.reply;
    else if (refund?.kind === 'refuse') result = refund.reply;
    else if (refund?.kind === 'approval') {
      requested = requestApproval(live.state, {
        id: `apr-${turn}-${step}-${index}`,
        args: refund.args,
        agent,
        at: now(),
        policy: live.policy,
      });
      live.state = requested.state;
      result = requested.reply;
    } else
      result = await runToolCall(
        live,
        agent,
        call,
        named[index]?.summary,
        `${live.workflowId}:${turn}:${step}:${index}`,
      );
    record(live, agent, call, decision, result, events);
    if (decision.kind === 'run' && call.name === REFUND_TOOL)
      deskMetrics.refund(agent, requested ? 'approval_requested' : result);
    if (requested) {
      const a = requested.approval;
      events.push({
        type: 'approval_requested',
        agent,
        approvalId: a.id,
        orderId: a.orderId,
        amountCents: a.amountCents,
        deadline: a.deadline,
      });
      live.publish();
    }
  }
  return { ...progress, ...(guard && { guard }) };
}

/** A decided call into the state (reply, trail, control) and the run log. */
function record(
  live: Live,
  agent: AgentName,
  call: ToolCallRequest,
  decision: CallDecision,
  result: ToolRunResult,
  events: TurnEvent[],
): void {
  switch (decision.kind) {
    case 'skip':
      events.push({ type: 'tool_skipped', agent, tool: call.name, why: decision.why });
      break;
    case 'refuse_handoff':
      live.state = recordRefusedHandoff(live.state, decision.to, decision.reason, decision.why, now());
      events.push({
        type: 'handoff_refused',
        from: agent,
        to: decision.to,
        reason: decision.reason,
        why: decision.why,
      });
      break;
    case 'handoff':
      live.state = applyHandoff(live.state, decision.to, decision.reason, now());
      instantSpan(`handoff ${agent} -> ${decision.to}`, {
        'gen_ai.conversation.id': live.workflowId,
        'desk.handoff.from': agent,
        'desk.handoff.to': decision.to,
        'desk.handoff.reason': decision.reason,
        'desk.turn': live.state.turn,
      });
      deskMetrics.handoff(agent, decision.to);
      events.push({ type: 'handoff', from: agent, to: decision.to, reason: decision.reason });
      live.publish();
      break;
    case 'refuse_tool':
    case 'run':
      events.push({ type: 'tool_call', agent, tool: call.name, arguments: call.arguments, result });
      break;
    case 'guard':
      break; // the turn's guard entry and reply follow
  }
  live.state = appendMessages(live.state, {
    role: 'tool',
    toolCallId: call.id,
    name: call.name,
    content: JSON.stringify(result),
  });
}

const REFUND_TOOL = 'process_refund';

/**
 * A person's decision on an approval, already checked (the handler runs it under the ticket gate,
 * so no turn and no deadline interleaves). The decision is recorded first; an approval then runs
 * the refund as an activity keyed by the approval id, so a duplicate, a retry or a worker that
 * dies mid-refund refunds once. Either way the customer is told in the transcript.
 */
export async function runDecision(live: Live, d: ApprovalDecision): Promise<ApprovalOutcome> {
  live.state = recordDecision(live.state, d, now());
  const decided = findApproval(live.state, d.approvalId);
  if (!decided)
    throw ApplicationFailure.create({
      type: FAILURE.invalidDecision,
      message: `there is no approval ${d.approvalId} in this conversation`,
      nonRetryable: true,
    });
  live.publish();
  if (d.decision === 'approve') {
    const call: ToolCallRequest = { id: decided.id, name: REFUND_TOOL, arguments: refundArgumentsJson(decided) };
    const result = await runToolCall(
      live,
      decided.agent,
      call,
      `order ${decided.orderId} ${formatCents(decided.amountCents)} approved by ${d.by}`,
      approvalIdempotencyKey(live.workflowId, decided.id),
      {
        id: decided.id,
        by: d.by,
      },
    );
    live.state = recordRefund(live.state, decided.id, result);
    deskMetrics.refund(decided.agent, result);
  }
  const approval = findApproval(live.state, d.approvalId) ?? decided;
  const text = decisionMessage(approval);
  live.state = foldDecided(appendMessages(live.state, { role: 'assistant', agent: approval.agent, content: text }));
  live.publish();
  return { approval, text };
}

/** Pending approvals past their deadline: declined (the customer is told) or escalated, by policy. */
export function applyDueDeadlines(live: Live): void {
  const { state, changed } = applyDeadlines(live.state, now(), live.policy);
  if (!changed.length) return;
  live.state = state;
  for (const a of changed) {
    if (a.status === 'expired')
      live.state = appendMessages(live.state, { role: 'assistant', agent: a.agent, content: decisionMessage(a) });
  }
  live.publish();
}

async function runToolCall(
  live: Live,
  agent: AgentName,
  call: ToolCallRequest,
  summary: string | undefined,
  idempotencyKey: string,
  approval?: { id: string; by: string },
): Promise<ToolRunResult> {
  const attributes = {
    'gen_ai.operation.name': 'execute_tool',
    'gen_ai.tool.name': call.name,
    'gen_ai.tool.call.id': call.id,
    'gen_ai.agent.name': agent,
    'gen_ai.conversation.id': live.workflowId,
  };
  return inSpan(`execute_tool ${call.name}`, attributes, async (span) => {
    const result = await toolActivity();
    span.setAttributes(
      result.ok ? { 'desk.tool.ok': true } : { 'desk.tool.ok': false, 'desk.tool.refusal': result.code },
    );
    return result;
  });

  async function toolActivity(): Promise<ToolRunResult> {
    const input = {
      agent,
      tool: call.name,
      arguments: call.arguments,
      customerId: live.state.customerId,
      idempotencyKey,
      ...(approval && { approval }),
    };
    const line = toolCallSummary(agent, call.name, summary);
    try {
      return runsAsActivity(live.execution, call.name)
        ? await runTool.executeWithOptions({ ...TOOL_CALL, summary: line }, [input])
        : await runToolLocally.executeWithOptions({ ...LOCAL_TOOL_CALL, summary: line }, [input]);
    } catch (err) {
      // Only non-retryable failures get here (TOOL_CALL retries transient ones without limit).
      // The model hears that it failed, so the history stays valid and the customer gets an answer.
      const error = stepFailureText(err);
      if (error !== undefined) {
        return {
          ok: false,
          code: 'invalid_state',
          message: `the ${call.name} tool failed and did nothing further: ${error}`,
        };
      }
      throw err;
    }
  }
}

/**
 * Whether a tool call is an ordinary activity: always in `activities`; in `local`, the calls that
 * change the shop. A `local` turn's model steps and calls are recorded only when its workflow task
 * ends: were the worker to die after a refund committed but before that, another worker would run
 * the turn again from its last recorded point, and a model asked again may decide otherwise (the
 * money moved, the transcript would not say so). Scheduling the change as an activity ends the task
 * first, recording the decision that asked for it; a worker that takes over retries this very call,
 * which the shop's ledger answers with its first outcome. One server round trip per change.
 */
export function runsAsActivity(execution: ExecutionMode, tool: string): boolean {
  return execution === 'activities' || (execution === 'local' && MUTATING_TOOLS.has(tool));
}

/** Whether a model step is a local activity: only in `local`. */
export function modelStepIsLocal(execution: ExecutionMode): boolean {
  return execution === 'local';
}

/**
 * What a failed (not cancelled) model step or tool call says, or undefined for anything else. An
 * activity's failure arrives as an ActivityFailure around the cause; a local activity's as the
 * cause itself.
 */
function stepFailureText(err: unknown): string | undefined {
  if (err instanceof ActivityFailure && !isCancellation(err)) {
    const cause = err.cause;
    if (cause instanceof ApplicationFailure) return `${cause.type ?? 'Error'}: ${cause.message}`;
    return cause?.message ?? err.message;
  }
  if (err instanceof ApplicationFailure) return `${err.type ?? 'Error'}: ${err.message}`;
  return undefined;
}

/** Workflow time: deterministic, replayed from history. */
export function now(): string {
  return new Date().toISOString();
}
