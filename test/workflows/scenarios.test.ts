/**
 * The seed's three scenarios, in the time-skipping environment with a strict scripted model and
 * the real tools on a temporary SQLite shop: replies, trail, statistics and database rows. The
 * same scenarios run twice: once normally, once with `maxCachedWorkflows: 0` so every workflow
 * task replays from history (the test of determinism).
 */
import type { WorkflowHandle } from '@temporalio/client';
import {
  CUSTOMER_ID,
  CURRENT_AGENT,
  HANDOFF_COUNT,
  historyQuery,
  sendMessageUpdate,
  stateQuery,
} from '../../workflows/messages';
import { conversation } from '../../workflows';
import type { ChatMessage } from '../../contract/transcript';
import { recordHistory } from '../helpers/histories';
import { reply, scriptedModel, toolCalls, transfer } from '../helpers/scripted-model';
import { TEST_EXECUTION, runWithWorker, uniqueTaskQueue, useWorkflowTestContext } from '../helpers/temporal-env';

const t = useWorkflowTestContext();

/** The cached run's conversations are this release's recorded histories (test/helpers/histories.ts). */
async function record(name: string, handle: WorkflowHandle, label: string): Promise<void> {
  if (label === 'cached') await recordHistory(t.env.client, handle.workflowId, name);
}

function lastTool(messages: ChatMessage[]): Record<string, unknown> {
  const last = messages[messages.length - 1];
  if (last?.role !== 'tool') throw new Error(`expected a tool result last, got ${last?.role}`);
  return JSON.parse(last.content) as Record<string, unknown>;
}

describe.each([
  ['cached', {}],
  ['replaying every task', { maxCachedWorkflows: 0 }],
])('seed scenarios (%s)', (label, overrides) => {
  test('1: "Has my order #12345 shipped?" is answered by the order specialist', async () => {
    const model = scriptedModel([
      { agent: 'receptionist', respond: transfer('order', 'Customer asks whether order 12345 has shipped') },
      { agent: 'order', respond: toolCalls(['get_order_status', { order_id: '12345' }]) },
      {
        agent: 'order',
        check: (input) =>
          expect(lastTool(input.messages)).toMatchObject({
            ok: true,
            data: { status: 'shipped', tracking_number: 'TRK-98765' },
          }),
        respond: reply('Yes: order 12345 has shipped, tracking number TRK-98765.'),
      },
    ]);
    const taskQueue = uniqueTaskQueue();
    await runWithWorker(
      t.env,
      { bundle: t.bundle, taskQueue, callModel: model.callModel, store: t.shop.store, overrides },
      async () => {
        const handle = await t.env.client.workflow.start(conversation, {
          taskQueue,
          workflowId: `s1-${taskQueue}`,
          args: [{ customerId: 'alice' }],
        });
        const answer = await handle.executeUpdate(sendMessageUpdate, {
          args: [{ text: 'Has my order #12345 shipped?' }],
        });

        expect(answer).toMatchObject({
          agent: 'order',
          text: 'Yes: order 12345 has shipped, tracking number TRK-98765.',
          turn: 1,
        });
        expect(answer.events.map((e) => e.type)).toEqual([
          'model_step',
          'handoff',
          'model_step',
          'tool_call',
          'model_step',
        ]);
        expect(answer.events[1]).toEqual({
          type: 'handoff',
          from: 'receptionist',
          to: 'order',
          reason: 'Customer asks whether order 12345 has shipped',
        });

        const state = await handle.query(stateQuery);
        expect(state.execution).toBe(TEST_EXECUTION);
        expect(state.currentAgent).toBe('order');
        expect(state.statistics).toEqual({
          totalHandoffs: 1,
          rollbacks: 0,
          path: 'receptionist -> order',
          agentsInvolved: ['receptionist', 'order'],
        });
        expect(state.trail).toEqual([
          expect.objectContaining({ kind: 'handoff', from: 'receptionist', to: 'order', turn: 1 }),
        ]);

        const described = await handle.describe();
        expect(described.typedSearchAttributes.get(CURRENT_AGENT)).toBe('order');
        expect(described.typedSearchAttributes.get(CUSTOMER_ID)).toBe('alice');
        expect(described.typedSearchAttributes.get(HANDOFF_COUNT)).toBe(1);
        await handle.terminate('test done');
        await record('scenario-1-order-status', handle, label);
      },
    );
    model.assertDone();
    expect(await t.shop.store.counts()).toMatchObject({ refunds: 1 /* the seed's partial refund */, cancellations: 1 });
  });

  test('2: "I don\'t want order #12345 anymore, please refund" reaches billing, which checks status then refunds $99.99', async () => {
    const refundsBefore = (await t.shop.store.listRefunds('12345')).length;
    const model = scriptedModel([
      { agent: 'receptionist', respond: transfer('billing', 'Customer wants a refund for order 12345') },
      { agent: 'billing', respond: toolCalls(['get_order_status', { order_id: '12345' }]) },
      {
        agent: 'billing',
        check: (input) =>
          expect(lastTool(input.messages)).toMatchObject({ ok: true, data: { order_id: '12345', total: 99.99 } }),
        respond: toolCalls([
          'process_refund',
          { order_id: '12345', amount: 99.99, reason: 'Customer no longer wants the order' },
        ]),
      },
      {
        agent: 'billing',
        check: (input) => expect(lastTool(input.messages)).toMatchObject({ ok: true }),
        respond: reply('I have refunded $99.99 for order 12345.'),
      },
    ]);
    const taskQueue = uniqueTaskQueue();
    await runWithWorker(
      t.env,
      { bundle: t.bundle, taskQueue, callModel: model.callModel, store: t.shop.store, overrides },
      async () => {
        const handle = await t.env.client.workflow.start(conversation, {
          taskQueue,
          workflowId: `s2-${taskQueue}`,
          args: [{ customerId: 'alice' }],
        });
        const answer = await handle.executeUpdate(sendMessageUpdate, {
          args: [{ text: "I don't want order #12345 anymore, please refund" }],
        });

        expect(answer).toMatchObject({ agent: 'billing', text: 'I have refunded $99.99 for order 12345.' });
        const tools = answer.events.flatMap((e) => (e.type === 'tool_call' ? [e.tool] : []));
        expect(tools).toEqual(['get_order_status', 'process_refund']);
        const state = await handle.query(stateQuery);
        expect(state.statistics.path).toBe('receptionist -> billing');
        expect(state.statistics.totalHandoffs).toBe(1);
        await handle.terminate('test done');
        await record('scenario-2-refund', handle, label);
      },
    );
    model.assertDone();
    const refunds = await t.shop.store.listRefunds('12345');
    expect(refunds).toHaveLength(refundsBefore + 1);
    expect(refunds[refunds.length - 1]).toMatchObject({ orderId: '12345', amountCents: 9999 });
  });

  test('3: "My order #67890 hasn\'t shipped yet, can I cancel and refund?" takes two handoffs, cancels and refunds', async () => {
    const model = scriptedModel([
      {
        agent: 'receptionist',
        respond: transfer('order', 'Customer wants to cancel pending order 67890 and get a refund'),
      },
      {
        agent: 'order',
        respond: toolCalls(['cancel_order', { order_id: '67890', reason: 'Customer changed their mind' }]),
      },
      {
        agent: 'order',
        check: (input) => expect(lastTool(input.messages)).toMatchObject({ ok: true, data: { status: 'cancelled' } }),
        respond: transfer('billing', 'Order 67890 is cancelled; the customer wants the refund'),
      },
      {
        agent: 'billing',
        // Context transfer: billing sees everything that happened before it took over.
        check: (input) => {
          const roles = input.messages.map((m) => (m.role === 'assistant' ? `assistant:${m.agent}` : m.role));
          expect(roles).toEqual([
            'user',
            'assistant:receptionist',
            'tool',
            'assistant:order',
            'tool',
            'assistant:order',
            'tool',
          ]);
          expect(input.messages[0]).toEqual({
            role: 'user',
            content: "My order #67890 hasn't shipped yet, can I cancel and refund?",
          });
          const cancel = input.messages[3];
          expect(cancel).toMatchObject({ role: 'assistant', agent: 'order', toolCalls: [{ name: 'cancel_order' }] });
          expect(input.messages[4]).toMatchObject({ role: 'tool', name: 'cancel_order' });
        },
        respond: toolCalls(['get_order_status', { order_id: '67890' }]),
      },
      {
        agent: 'billing',
        check: (input) =>
          expect(lastTool(input.messages)).toMatchObject({ data: { status: 'cancelled', total: 149.99 } }),
        respond: toolCalls([
          'process_refund',
          { order_id: '67890', amount: 149.99, reason: 'Order cancelled before shipping' },
        ]),
      },
      { agent: 'billing', respond: reply('Order 67890 is cancelled and $149.99 is on its way back to you.') },
    ]);
    const taskQueue = uniqueTaskQueue();
    await runWithWorker(
      t.env,
      { bundle: t.bundle, taskQueue, callModel: model.callModel, store: t.shop.store, overrides },
      async () => {
        const handle = await t.env.client.workflow.start(conversation, {
          taskQueue,
          workflowId: `s3-${taskQueue}`,
          args: [{ customerId: 'alice' }],
        });
        const answer = await handle.executeUpdate(sendMessageUpdate, {
          args: [{ text: "My order #67890 hasn't shipped yet, can I cancel and refund?" }],
        });

        expect(answer.agent).toBe('billing');
        expect(answer.events.filter((e) => e.type === 'handoff')).toEqual([
          {
            type: 'handoff',
            from: 'receptionist',
            to: 'order',
            reason: 'Customer wants to cancel pending order 67890 and get a refund',
          },
          {
            type: 'handoff',
            from: 'order',
            to: 'billing',
            reason: 'Order 67890 is cancelled; the customer wants the refund',
          },
        ]);
        const state = await handle.query(stateQuery);
        expect(state.statistics).toEqual({
          totalHandoffs: 2,
          rollbacks: 0,
          path: 'receptionist -> order -> billing',
          agentsInvolved: ['receptionist', 'order', 'billing'],
        });
        const history = await handle.query(historyQuery);
        expect(history[history.length - 1]).toEqual({
          role: 'assistant',
          agent: 'billing',
          content: 'Order 67890 is cancelled and $149.99 is on its way back to you.',
        });
        // Tool-call ids are the workflow's own, unique in the conversation, though the model reused call_0.
        const ids = history.flatMap((m) => (m.role === 'assistant' ? (m.toolCalls ?? []).map((c) => c.id) : []));
        expect(new Set(ids).size).toBe(ids.length);
        await handle.terminate('test done');
        await record('scenario-3-cancel-and-refund', handle, label);
      },
    );
    model.assertDone();
    expect((await t.shop.store.findCustomerOrder('alice', '67890'))?.status).toBe('cancelled');
    expect(await t.shop.store.listRefunds('67890')).toEqual([expect.objectContaining({ amountCents: 14999 })]);
  });
});
