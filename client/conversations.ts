/**
 * Starting and addressing conversations from any client: the id scheme, the start options
 * (task queue, search attributes set at start so the UI can filter from the first second), and
 * update-with-start so a first message and the start are one round trip.
 */
import { randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation, type Client, type WorkflowHandle } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { conversation } from '../workflows';
import {
  CURRENT_AGENT,
  CUSTOMER_ID,
  EXECUTION_MODES,
  HANDOFF_COUNT,
  TASK_QUEUE,
  decideApprovalUpdate,
  sendMessageUpdate,
  type AgentReply,
  type ApprovalOutcome,
  type ConversationInput,
  type DecideApprovalInput,
  isExecutionMode,
  ABSENT_EXECUTION,
  WORKFLOW_TASK_TIMEOUT_MS,
  type ExecutionMode,
} from '../workflows/messages';
import { approvalPolicyFromEnv } from '../config/approval-policy';
import { ENTRY_AGENT } from '../agents';
import { LIMIT_RANGES } from '../contract/limits';
import { checkConversationInput, checkDecisionShape, checkMessage, customerIdSchema } from '../workflows/schemas';

export type ConversationHandle = WorkflowHandle<typeof conversation>;

/** `conversation-<customerId>-<short id>` */
export function newConversationId(customerId: string): string {
  return `conversation-${customerId}-${randomUUID().slice(0, 8)}`;
}

/** Input the workflow would refuse, caught before sending: the same schemas, the same words. */
export class InvalidInputError extends Error {
  override readonly name = 'InvalidInputError';
}

export function checkCustomerId(customerId: string): string {
  if (!customerIdSchema.safeParse(customerId).success)
    throw new InvalidInputError(
      `invalid customer id ${JSON.stringify(customerId)}: use 1-64 letters, digits, '_', '.', '@' or '-'`,
    );
  return customerId;
}

function checkInput(input: ConversationInput): void {
  checkCustomerId(input.customerId);
  const checked = checkConversationInput(input);
  if (!checked.ok) throw new InvalidInputError(`invalid conversation input: ${checked.error}`);
}

/**
 * The message's shape and emptiness; its length against the largest limit a conversation may
 * have (the conversation's own limit is applied by its validator).
 */
function checkText(text: string): void {
  const checked = checkMessage({ text }, LIMIT_RANGES.maxMessageChars[1]);
  if (!checked.ok) throw new InvalidInputError(`message rejected: ${checked.error}`);
}

/** Where a conversation starts; the workflow task timeout is its mode's unless given (the benchmark's "before"). */
interface StartPlace {
  workflowId?: string;
  taskQueue?: string;
  workflowTaskTimeoutMs?: number;
}

function startOptions(input: ConversationInput, workflowId: string, place: StartPlace) {
  return {
    taskQueue: place.taskQueue ?? TASK_QUEUE,
    workflowId,
    args: [input] as [ConversationInput],
    workflowTaskTimeout: place.workflowTaskTimeoutMs ?? WORKFLOW_TASK_TIMEOUT_MS[input.execution ?? ABSENT_EXECUTION],
    typedSearchAttributes: new TypedSearchAttributes([
      { key: CUSTOMER_ID, value: input.customerId },
      { key: CURRENT_AGENT, value: ENTRY_AGENT },
      { key: HANDOFF_COUNT, value: 0 },
    ]),
  };
}

/**
 * A handle on the conversation, not on one run of it: a conversation continues-as-new when its
 * history grows long, and a handle bound to the first run would then fail every message with
 * "workflow execution already completed".
 */
export function conversationHandle(client: Client, workflowId: string): ConversationHandle {
  return client.workflow.getHandle<typeof conversation>(workflowId);
}

export async function startConversation(
  client: Client,
  input: ConversationInput,
  opts: StartPlace = {},
): Promise<ConversationHandle> {
  checkInput(input);
  const workflowId = opts.workflowId ?? newConversationId(input.customerId);
  await client.workflow.start(conversation, startOptions(input, workflowId, opts));
  return conversationHandle(client, workflowId);
}

/** The update-with-start of a conversation and its first message, both checked first. */
function withStartOperation(
  input: ConversationInput,
  text: string,
  opts: { workflowId?: string; taskQueue?: string },
): { workflowId: string; startWorkflowOperation: WithStartWorkflowOperation<typeof conversation> } {
  checkInput(input);
  checkText(text);
  const workflowId = opts.workflowId ?? newConversationId(input.customerId);
  const startWorkflowOperation = new WithStartWorkflowOperation(conversation, {
    ...startOptions(input, workflowId, opts),
    workflowIdConflictPolicy: 'FAIL',
  });
  return { workflowId, startWorkflowOperation };
}

/** Start a conversation and send its first message in one round trip (update-with-start). */
export async function startWithMessage(
  client: Client,
  input: ConversationInput,
  text: string,
  opts: { workflowId?: string; taskQueue?: string } = {},
): Promise<{ handle: ConversationHandle; reply: AgentReply }> {
  const { workflowId, startWorkflowOperation } = withStartOperation(input, text, opts);
  const reply = await client.workflow.executeUpdateWithStart(sendMessageUpdate, {
    args: [{ text }],
    startWorkflowOperation,
  });
  await startWorkflowOperation.workflowHandle();
  return { handle: conversationHandle(client, workflowId), reply };
}

/**
 * Starts a conversation and sends its first message without waiting for the message to be
 * accepted: for a caller that watches the reply arrive, like the web console. (A `local`
 * conversation accepts a message in the workflow task that answers it, so waiting for acceptance
 * would mean waiting for the reply.) The text is checked here first; `reply` settles with the answer.
 */
export async function startWithMessageSent(
  client: Client,
  input: ConversationInput,
  text: string,
  opts: { workflowId?: string; taskQueue?: string } = {},
): Promise<{ handle: ConversationHandle; reply: Promise<AgentReply> }> {
  checkText(text);
  const handle = await startConversation(client, input, opts);
  const reply = handle.executeUpdate(sendMessageUpdate, { args: [{ text }] });
  return { handle, reply };
}

export async function sendMessage(handle: ConversationHandle, text: string): Promise<AgentReply> {
  checkText(text);
  return handle.executeUpdate(sendMessageUpdate, { args: [{ text }] });
}

/**
 * A start input with what the environment sets: the refund-approval policy (REFUND_APPROVAL_LIMIT,
 * APPROVAL_TIMEOUT, APPROVAL_ON_TIMEOUT, DESK_APPROVERS) and where model steps and tool calls run
 * (DESK_EXECUTION); unchanged when none is set (no execution means DEFAULT_EXECUTION). Both are fixed
 * for the conversation's life.
 */
export function withEnvPolicy(input: ConversationInput, env: NodeJS.ProcessEnv = process.env): ConversationInput {
  let policy;
  try {
    policy = approvalPolicyFromEnv(env);
  } catch (err) {
    throw new InvalidInputError(`bad approval policy in the environment: ${(err as Error).message}`);
  }
  const execution = input.execution ?? executionFromEnv(env);
  return {
    ...input,
    ...(Object.keys(policy).length && { policy: { ...policy, ...input.policy } }),
    ...(execution && { execution }),
  };
}

/** DESK_EXECUTION: activities (DEFAULT_EXECUTION), local-tools or local; see EXECUTION_MODES. */
export function executionFromEnv(env: NodeJS.ProcessEnv = process.env): ExecutionMode | undefined {
  const text = env.DESK_EXECUTION?.trim();
  if (!text) return undefined;
  if (!isExecutionMode(text))
    throw new InvalidInputError(
      `DESK_EXECUTION must be one of ${EXECUTION_MODES.join(', ')}, got ${JSON.stringify(env.DESK_EXECUTION)}`,
    );
  return text;
}

/** A person's decision on a pending refund; the workflow checks who may decide and that it is still pending. */
export async function decideApproval(
  handle: ConversationHandle,
  decision: DecideApprovalInput,
): Promise<ApprovalOutcome> {
  const checked = checkDecisionShape(decision);
  if (!checked.ok) throw new InvalidInputError(`decision rejected: ${checked.error}`);
  return handle.executeUpdate(decideApprovalUpdate, { args: [checked.value] });
}
