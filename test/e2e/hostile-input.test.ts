/**
 * A hostile client with direct access to the Temporal API cannot wedge a conversation. Against the
 * real dev server (the one that enforces Temporal's payload and history limits) and an in-process
 * desk worker on the offline model, each reproduction from issue 9 is replayed and the
 * conversation must come out of it answering, with no workflow task failure in its history:
 *
 * 1. three rollback signals with a 1.5 MB reason each, messages between them;
 * 2. starts with malformed input (none, null, {}, a numeric customer, a bogus carried state):
 *    the execution fails at once with a clear, non-retryable error;
 * 3. a message with an unknown 1 MB field is refused by the validator and leaves no trace.
 */
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { sendMessage, startWithMessage } from '../../client/conversations';
import { rollbackSignal, sendMessageUpdate, stateQuery, TASK_QUEUE, WORKFLOW_TYPE } from '../../workflows/messages';
import { HISTORY_BUDGET } from '../../contract/limits';
import { useInProcessDesk } from '../helpers/e2e';
import { historyHealth } from '../helpers/history';

jest.setTimeout(180_000);

const desk = useInProcessDesk();

test('three 1.5 MB rollback reasons between messages: every message is answered, no task fails', async () => {
  const { handle, reply } = await startWithMessage(
    desk.server.client,
    { customerId: 'alice' },
    'Has my order #12345 shipped?',
  );
  expect(reply.agent).toBe('order');
  const huge = 'x'.repeat(1_500_000);
  for (let i = 1; i <= 3; i++) {
    await handle.signal(rollbackSignal, { reason: huge });
    const answer = await sendMessage(handle, 'Has my order #12345 shipped?');
    expect(answer.text).toContain('TRK-98765');
  }
  const state = await handle.query(stateQuery);
  expect(state.statistics.rollbacks).toBe(3);
  const rollbacks = state.trail.filter((e) => e.kind === 'rollback');
  expect(rollbacks).toHaveLength(3);
  for (const r of rollbacks) {
    expect(r.reason.length).toBeLessThan(1_000);
    expect(r).toMatchObject({ reasonCut: 1_500_000 });
  }
  // Every run of the chain (the huge signals force continue-as-new) is free of task failures.
  const health = await historyHealth(desk.bigClient, handle.workflowId);
  expect(health.taskFailures).toEqual([]);
  expect(health.runs.length).toBeGreaterThanOrEqual(2);
  // What the current run carried over stays within the budget.
  expect(health.runs.at(-1)!.startInputBytes).toBeLessThan(HISTORY_BUDGET.carriedStateBytes);
});

test('three 1.5 MB rollbacks back to back, with no message between: the conversation still answers', async () => {
  const { handle } = await startWithMessage(
    desk.server.client,
    { customerId: 'alice' },
    'Has my order #12345 shipped?',
  );
  const huge = 'y'.repeat(1_500_000);
  for (let i = 0; i < 3; i++) await handle.signal(rollbackSignal, { reason: huge });
  const answer = await sendMessage(handle, 'Has my order #12345 shipped?');
  expect(answer.text).toContain('TRK-98765');
  const state = await handle.query(stateQuery);
  expect(state.statistics.rollbacks).toBe(3);
  const health = await historyHealth(desk.bigClient, handle.workflowId);
  expect(health.taskFailures).toEqual([]);
  // Padded signals arriving during a task can overflow the server's signal buffer: it then closes
  // that task once to flush them (FORCE_CLOSE_COMMAND), and the next one goes on. Once, not a loop.
  expect(health.serverRetries).toBeLessThanOrEqual(2);
  // Signals that arrive together land in one run (4.5 MB here: the worker reads it, a default
  // client cannot); the conversation then continues-as-new, and the run that answers is small.
  expect(health.runs.length).toBeGreaterThanOrEqual(2);
  expect(health.runs.at(-1)!.bytes).toBeLessThan(512 * 1024);
});

test.each([
  ['no input', []],
  ['null', [null]],
  ['an empty object', [{}]],
  ['a numeric customer', [{ customerId: 123 }]],
  ['a bogus carried state', [{ customerId: 'alice', carried: { trail: 5 } }]],
  ['absurd limits', [{ customerId: 'alice', limits: { maxTranscriptChars: 1e12 } }]],
])('a start with %s fails the execution at once with a clear error', async (_name, args) => {
  const handle = await desk.server.client.workflow.start(WORKFLOW_TYPE, {
    taskQueue: TASK_QUEUE,
    workflowId: `bad-start-${Math.random().toString(36).slice(2)}`,
    args,
  });
  const err = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause as { type?: string; message: string; nonRetryable?: boolean };
  expect(cause).toMatchObject({ type: 'InvalidConversationInput', nonRetryable: true });
  expect(cause.message).toMatch(/^invalid conversation input: /);
  const health = await historyHealth(desk.bigClient, handle.workflowId);
  expect(health.taskFailures).toEqual([]);
});

test('a message with an unknown 1 MB field is refused and adds nothing to history', async () => {
  const { handle } = await startWithMessage(desk.server.client, { customerId: 'alice' }, 'hello');
  const before = await historyHealth(desk.bigClient, handle.workflowId);
  const err = await handle
    .executeUpdate(sendMessageUpdate, { args: [{ text: 'hi', pad: 'p'.repeat(1_000_000) } as { text: string }] })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  expect(String((err as WorkflowUpdateFailedError).cause?.message)).toMatch(/unrecognized key.*pad/i);
  const after = await historyHealth(desk.bigClient, handle.workflowId);
  expect(after.runs.at(-1)!.bytes - before.runs.at(-1)!.bytes).toBeLessThan(10_000);
  const answer = await sendMessage(handle, 'Has my order #12345 shipped?');
  expect(answer.text).toContain('TRK-98765');
});
