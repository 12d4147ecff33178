/**
 * Starting and addressing conversations from any client: the id scheme, the start options
 * (task queue, search attributes set at start so the UI can filter from the first second), and
 * update-with-start so a first message and the start are one round trip.
 */
import { randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation, type Client, type WorkflowHandle } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { conversation } from '../workflows';
import { CURRENT_AGENT, CUSTOMER_ID, HANDOFF_COUNT, TASK_QUEUE, sendMessageUpdate, type AgentReply, type ConversationInput } from '../workflows/messages';
import { ENTRY_AGENT } from '../workflows/agents';

export type ConversationHandle = WorkflowHandle<typeof conversation>;

/** `conversation-<customerId>-<short id>` */
export function newConversationId(customerId: string): string {
  return `conversation-${customerId}-${randomUUID().slice(0, 8)}`;
}

const CUSTOMER_ID_PATTERN = /^[A-Za-z0-9_.@-]{1,64}$/;

export function checkCustomerId(customerId: string): string {
  if (!CUSTOMER_ID_PATTERN.test(customerId)) throw new Error(`invalid customer id ${JSON.stringify(customerId)}: use 1-64 letters, digits, '_', '.', '@' or '-'`);
  return customerId;
}

function startOptions(input: ConversationInput, workflowId: string, taskQueue: string) {
  return {
    taskQueue,
    workflowId,
    args: [input] as [ConversationInput],
    typedSearchAttributes: new TypedSearchAttributes([
      { key: CUSTOMER_ID, value: input.customerId },
      { key: CURRENT_AGENT, value: ENTRY_AGENT },
      { key: HANDOFF_COUNT, value: 0 },
    ]),
  };
}

export async function startConversation(
  client: Client,
  input: ConversationInput,
  opts: { workflowId?: string; taskQueue?: string } = {},
): Promise<ConversationHandle> {
  checkCustomerId(input.customerId);
  const workflowId = opts.workflowId ?? newConversationId(input.customerId);
  return client.workflow.start(conversation, startOptions(input, workflowId, opts.taskQueue ?? TASK_QUEUE));
}

/** Start a conversation and send its first message in one round trip (update-with-start). */
export async function startWithMessage(
  client: Client,
  input: ConversationInput,
  text: string,
  opts: { workflowId?: string; taskQueue?: string } = {},
): Promise<{ handle: ConversationHandle; reply: AgentReply }> {
  checkCustomerId(input.customerId);
  const workflowId = opts.workflowId ?? newConversationId(input.customerId);
  const startWorkflowOperation = new WithStartWorkflowOperation(conversation, {
    ...startOptions(input, workflowId, opts.taskQueue ?? TASK_QUEUE),
    workflowIdConflictPolicy: 'FAIL',
  });
  const reply = await client.workflow.executeUpdateWithStart(sendMessageUpdate, { args: [{ text }], startWorkflowOperation });
  return { handle: await startWorkflowOperation.workflowHandle(), reply };
}

export async function sendMessage(handle: ConversationHandle, text: string): Promise<AgentReply> {
  return handle.executeUpdate(sendMessageUpdate, { args: [{ text }] });
}
