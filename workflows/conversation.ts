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
  log,
  makeContinueAsNewFunc,
  patched,
  setCurrentDetails,
  setDefaultSignalHandler,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import {
  DEFAULT_APPROVAL_POLICY,
  DEFAULT_LIMITS,
  LOCAL_MAX_EVENTS_PER_RUN,
  LOCAL_MAX_EVENTS_PER_RUN_0_4,
  type ApprovalPolicy,
  type ConversationLimits,
} from '../contract/limits';
import { awaitingApprovals, checkDecisionAgainst, isAwaiting, nextDeadline, type ApprovalDecision } from './approvals';
import {
  CURRENT_AGENT,
  CUSTOMER_ID,
  ABSENT_EXECUTION,
  FAILURE,
  HANDOFF_COUNT,
  PENDING_APPROVALS,
  decideApprovalUpdate,
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
import { ENTRY_AGENT } from '../agents';
import { formatCounts } from '../contract/usage';
import { checkConversationInput, checkDecisionShape, checkMessage, rollbackReason } from './schemas';
import {
  applyRollback,
  boundState,
  closeConversation,
  compactForCarry,
  initialState,
  statistics,
  type ConversationState,
} from './state';
import { deskMetrics } from './telemetry';
import { applyDueDeadlines, now, publishUsage, runDecision, runTurn, type Live } from './turn';

export { CANNED } from './turn';

/*
 * Worker Versioning (worker/versioning.ts): on a versioned worker a run is PINNED to the worker
 * deployment version it started on (the worker's defaultVersioningBehavior, worker/worker.ts), so no
 * turn is ever replayed on code it did not start with, whatever changed in between (an agent's
 * tools or handoffs, the per-call rule, this file). A run moves to the deployment's current version
 * only at continue-as-new, which starts from the carried state instead of replaying history: serve()
 * continues as new at the first idle moment after a new version became current. Not declared here
 * with setWorkflowOptions: an unversioned worker (DESK_VERSIONING=off, the tests' in-process
 * workers) would then report a versioning behaviour with every workflow task, and its tasks stall.
 */
export async function conversation(rawInput: ConversationInput): Promise<ConversationSnapshot> {
  // Any client can start this workflow with anything: check before touching it. A plain error here
  // would fail the workflow task and retry it forever; this fails the execution, once, clearly.
  const checked = checkConversationInput(rawInput);
  if (!checked.ok) {
    throw ApplicationFailure.create({
      type: FAILURE.invalidInput,
      message: `invalid conversation input: ${checked.error}`,
      nonRetryable: true,
    });
  }
  const input = checked.value;
  const execution = input.execution ?? ABSENT_EXECUTION;
  const given: ConversationLimits = { ...DEFAULT_LIMITS, ...input.limits };
  const limits: ConversationLimits =
    execution === 'local'
      ? { ...given, continueAsNewAfterEvents: Math.min(given.continueAsNewAfterEvents, localRunCap()) }
      : given;
  const policy: ApprovalPolicy = { ...DEFAULT_APPROVAL_POLICY, ...input.policy };
  const live: Live = {
    state: input.carried ? boundState(input.carried, limits.maxTranscriptBytes) : initialState(input.customerId, now()),
    limits,
    policy,
    execution,
    workflowId: workflowInfo().workflowId,
    runId: workflowInfo().runId,
    publish: publisher(() => live.state),
  };
  const gate = registerHandlers(live);

  live.publish();
  publishUsage(live.state);
  await serve(live, gate, input);
  live.publish();
  await condition(allHandlersFinished);
  return snapshot(live);
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

/**
 * Marks `local` runs started with the shorter cap (contract/limits.ts says why it is shorter): a run
 * started before it has no marker, so it replays, and continues as new, with the cap it began with.
 */
const LOCAL_RUN_CAP_PATCH = 'local-run-cap-1200';

function localRunCap(): number {
  return patched(LOCAL_RUN_CAP_PATCH) ? LOCAL_MAX_EVENTS_PER_RUN : LOCAL_MAX_EVENTS_PER_RUN_0_4;
}

function registerHandlers(live: Live): Gate {
  let nextTicket = 0;
  let serving = 0;
  const idle = () => serving === nextTicket;

  setHandler(stateQuery, () => snapshot(live));
  setHandler(historyQuery, () => live.state.history);
  setHandler(endSignal, () => {
    live.state = closeConversation(live.state, 'ended');
  });
  setHandler(rollbackSignal, (arg: unknown) => {
    if (live.state.status !== 'open') return;
    const reason = rollbackReason(arg);
    if (idle()) {
      deskMetrics.rollback(live.state.currentAgent, live.state.currentAgent === ENTRY_AGENT);
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
          throw ApplicationFailure.create({
            type: FAILURE.conversationClosed,
            message: 'this conversation is closed; start a new one',
            nonRetryable: true,
          });
        }
        // The validator accepted it; checking again yields the cleaned text (validators do not run on replay).
        const message = checkMessage(arg, live.limits.maxMessageChars);
        if (!message.ok)
          throw ApplicationFailure.create({ type: FAILURE.invalidMessage, message: message.error, nonRetryable: true });
        return await runTurn(live, message.value);
      } finally {
        serving++;
      }
    },
    { validator: (arg: unknown) => validateMessage(arg, live.state, live.limits) },
  );
  // Decisions wait their turn at the same gate as messages: a decision never interleaves with a
  // turn, and the deadline (applied only when the gate is idle) cannot overtake an accepted one.
  setHandler(
    decideApprovalUpdate,
    async (arg: ApprovalDecision) => {
      const ticket = nextTicket++;
      await condition(() => serving === ticket);
      try {
        // Checked again: validators do not run on replay, and the approval may have been decided
        // (or declined by its deadline) while this decision waited.
        const decision = checkDecision(arg, live.state, live.policy);
        return await runDecision(live, decision);
      } finally {
        serving++;
      }
    },
    { validator: (arg: unknown) => void checkDecision(arg, live.state, live.policy) },
  );
  // A signal nobody handles would be buffered in memory for the rest of the run: log and drop it.
  setDefaultSignalHandler((name: string) => {
    log.warn('ignored an unknown signal', { signal: name.slice(0, 64) });
  });
  return { accepted: () => nextTicket, idle };
}

/**
 * Waits for messages until the conversation closes (ended, or idle past the timer), continuing-as-new
 * when history grows long or when a newer worker deployment version became current.
 */
async function serve(live: Live, gate: Gate, input: ConversationInput): Promise<void> {
  const { historyLength: startLength, historySize: startSize } = workflowInfo();
  /**
   * Time for a new run: Temporal suggests continue-as-new, this run added more history than the limits
   * allow, or this pinned run's deployment has a new current version (always false for an unversioned
   * worker, so histories recorded without versioning replay unchanged). The version flag is read
   * when a workflow task starts: an idle conversation notices at its next message or signal, finishes
   * that turn on its own version, and moves.
   */
  const timeForNewRun = (): boolean => {
    const info = workflowInfo();
    return (
      info.continueAsNewSuggested ||
      info.targetWorkerDeploymentVersionChanged ||
      info.historyLength - startLength >= live.limits.continueAsNewAfterEvents ||
      info.historySize - startSize >= live.limits.continueAsNewAfterBytes
    );
  };
  const open = () => live.state.status === 'open';
  while (open()) {
    await condition(() => gate.idle() || !open());
    if (!open()) break;
    if (timeForNewRun()) {
      await condition(allHandlersFinished);
      if (gate.idle() && open()) {
        // AUTO_UPGRADE for the new run's first task: it starts on the current version (ignored by
        // an unversioned worker). The carried state is checked by the schema like any start input,
        // so a new version reads what an older one carried.
        await makeContinueAsNewFunc<typeof conversation>({ initialVersioningBehavior: 'AUTO_UPGRADE' })({
          customerId: live.state.customerId,
          limits: input.limits,
          ...(input.policy && { policy: input.policy }),
          ...(input.execution && { execution: input.execution }),
          carried: compactForCarry(live.state, live.limits.maxTranscriptBytes),
        });
      }
      continue;
    }
    const seen = gate.accepted();
    // A refund awaiting a person keeps the conversation open: wait for a message, a decision or
    // the approval's deadline instead of the idle timer.
    if (awaitingApprovals(live.state).length) {
      await awaitDecisionOrDeadline(live, gate, () => gate.accepted() !== seen || !open() || timeForNewRun());
      continue;
    }
    // The idle timer is a durable timer: it survives worker and server restarts. It also wakes
    // when signals alone (which a client may pad to 2 MB each) make history too long.
    const active = await condition(
      () => gate.accepted() !== seen || !open() || timeForNewRun(),
      live.limits.idleTimeoutMs,
    );
    if (!active) live.state = closeConversation(live.state, 'idle');
  }
  // Ended with refunds still awaiting a person: the customer can send nothing more, but the
  // decisions (and deadlines) still apply, so the run lives until none awaits.
  while (awaitingApprovals(live.state).length) {
    await condition(gate.idle);
    const seen = gate.accepted();
    await awaitDecisionOrDeadline(live, gate, () => gate.accepted() !== seen);
  }
}

/**
 * Waits for `wake` or the earliest pending approval's deadline (a durable timer). At the deadline,
 * once no message or decision is being handled, the due approvals are declined or escalated.
 */
async function awaitDecisionOrDeadline(live: Live, gate: Gate, wake: () => boolean): Promise<void> {
  const due = nextDeadline(live.state);
  if (due === undefined) {
    await condition(wake); // only escalated approvals: they wait for a person, however long
    return;
  }
  const ms = due - Date.now();
  if (ms > 0 && (await condition(wake, ms))) return;
  if (gate.idle()) applyDueDeadlines(live);
}

/** Keeps the search attributes and the UI's current details in step with the state; upserts only on change. */
function publisher(current: () => ConversationState): () => void {
  let published: { agent?: string; handoffs?: number } = {};
  // PendingApprovals is upserted only once a conversation has had an approval, so conversations
  // without one (and their recorded histories) issue exactly the commands they always did.
  let publishedAwaiting: number | undefined;
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
    if (state.approvals !== undefined) {
      const awaiting = state.approvals.filter(isAwaiting).length;
      if (awaiting !== publishedAwaiting) {
        upsertSearchAttributes([{ key: PENDING_APPROVALS, value: awaiting }]);
        publishedAwaiting = awaiting;
      }
    }
    setCurrentDetails(
      `Current agent: **${state.currentAgent}** (${state.status})\n\nPath: ${stats.path}\n\nTurns: ${state.turn}, handoffs: ${stats.totalHandoffs}, rollbacks: ${stats.rollbacks}${usageDetails(state)}`,
    );
  };
}

function snapshot(live: Live): ConversationSnapshot {
  const { state, limits, policy, execution } = live;
  const { customerId, status, closedReason, currentAgent, turn, trail, approvalsFolded, usage } = state;
  const all = state.approvals ?? [];
  const approvals = [...all.filter(isAwaiting), ...all.filter((a) => !isAwaiting(a))];
  return {
    customerId,
    status,
    closedReason,
    currentAgent,
    turn,
    trail,
    statistics: statistics(state),
    limits,
    policy,
    execution,
    approvals,
    ...(approvalsFolded && { approvalsFolded }),
    ...(usage && { usage }),
  };
}

/** A decision that may apply now, or an InvalidDecision failure saying why not (one line; nothing changes). */
function checkDecision(arg: unknown, state: ConversationState, policy: ApprovalPolicy): ApprovalDecision {
  const reject = (message: string): never => {
    throw ApplicationFailure.create({ type: FAILURE.invalidDecision, message, nonRetryable: true });
  };
  const shape = checkDecisionShape(arg);
  if (!shape.ok) return reject(shape.error);
  const why = checkDecisionAgainst(state, shape.value, policy);
  if (why !== undefined) return reject(why);
  return shape.value;
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

/** The current details' usage paragraph: the conversation's tokens and cost, then each agent's. */
function usageDetails(state: ConversationState): string {
  if (!state.usage) return '';
  const agents = Object.entries(state.usage.byAgent).map(([agent, counts]) => `${agent}: ${formatCounts(counts)}`);
  return `\n\nTokens: ${formatCounts(state.usage.total)}\n\n${agents.join('\n\n')}`;
}
