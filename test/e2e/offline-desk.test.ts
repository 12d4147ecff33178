/**
 * The walking skeleton, end to end: a private Temporal dev server, a real worker process
 * (`worker/main.ts`), the offline model it starts itself (no OPENAI_* set) and a temporary shop
 * database. The seed's three scenarios, checked the way a customer and a support lead see them:
 * the reply, the run log (events), the trail, the search attributes, the activity summaries in
 * the event history, and the rows in the shop database.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { SEED_REFUNDS, openShopStore } from '../../activities/store';
import { sendMessage, startWithMessage, type ConversationHandle } from '../../client/conversations';
import {
  CURRENT_AGENT,
  CUSTOMER_ID,
  HANDOFF_COUNT,
  stateQuery,
  type AgentReply,
  type TurnEvent,
} from '../../workflows/messages';
import { DEFAULT_WORKFLOW_TASK_SLOTS } from '../../worker/slots';
import { spawnWorker, startPrivateServer, type PrivateServer, type WorkerProcess } from '../helpers/e2e';

jest.setTimeout(90_000);

let server: PrivateServer;
let shopDir: string;
let shopDb: string;
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  server = await startPrivateServer();
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

beforeEach(() => {
  shopDir = mkdtempSync(path.join(tmpdir(), 'desk-e2e-shop-'));
  shopDb = path.join(shopDir, 'shop.db');
});

afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  rmSync(shopDir, { recursive: true, force: true });
});

/** One desk worker on the offline model, against the private server and this test's shop. */
async function startWorker(): Promise<WorkerProcess> {
  worker = spawnWorker({ TEMPORAL_ADDRESS: server.address, SHOP_DB: shopDb });
  await worker.ready;
  expect(worker.output()).toContain('model: offline model at http://127.0.0.1:');
  expect(worker.output()).toContain(`[worker] ${DEFAULT_WORKFLOW_TASK_SLOTS} workflow tasks at once`);
  return worker;
}

/** Rows of the shop database, read after the worker has stopped (no second writer). */
async function shopRows<T>(sql: string, ...params: unknown[]): Promise<T[]> {
  const store = await openShopStore(shopDb);
  try {
    return await store.query<T>(sql, params);
  } finally {
    await store.close();
  }
}

/** The summary of every scheduled activity, in history order, as the Temporal UI shows them. */
async function activitySummaries(handle: ConversationHandle): Promise<(string | undefined)[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? [])
    .filter((e) => e.activityTaskScheduledEventAttributes)
    .map((e) => {
      const payload = e.userMetadata?.summary;
      return payload ? defaultPayloadConverter.fromPayload<string>(payload) : undefined;
    });
}

function eventsOf<K extends TurnEvent['type']>(reply: AgentReply, type: K): Extract<TurnEvent, { type: K }>[] {
  return reply.events.filter((e): e is Extract<TurnEvent, { type: K }> => e.type === type);
}

function expectHandoff(reply: AgentReply, from: string, to: string): void {
  const handoffs = eventsOf(reply, 'handoff').filter((e) => e.from === from && e.to === to);
  expect(handoffs).toHaveLength(1);
  expect(handoffs[0]!.reason.trim()).not.toBe('');
}

function expectToolOk(reply: AgentReply, agent: string, tool: string, orderId: string): Record<string, unknown> {
  const calls = eventsOf(reply, 'tool_call').filter((e) => e.tool === tool);
  expect(calls).toHaveLength(1);
  const call = calls[0]!;
  expect(call.agent).toBe(agent);
  expect(JSON.parse(call.arguments)).toMatchObject({ order_id: orderId });
  expect(call.result.ok).toBe(true);
  return call.result.ok ? (call.result.data as Record<string, unknown>) : {};
}

test('"Has my order #12345 shipped?" is answered by the order agent, with trail, search attributes and activity summaries', async () => {
  await startWorker();
  const { handle, reply } = await startWithMessage(
    server.client,
    { customerId: 'alice' },
    'Has my order #12345 shipped?',
  );

  expect(reply.agent).toBe('order');
  expect(reply.turn).toBe(1);
  expect(reply.text).toContain('(offline model)');
  expect(reply.text).toContain('TRK-98765');
  expectHandoff(reply, 'receptionist', 'order');
  expect(expectToolOk(reply, 'order', 'get_order_status', '12345')).toMatchObject({
    status: 'shipped',
    tracking_number: 'TRK-98765',
  });

  const state = await handle.query(stateQuery);
  expect(state).toMatchObject({ customerId: 'alice', status: 'open', currentAgent: 'order', turn: 1 });
  expect(state.statistics.path).toBe('receptionist -> order');
  expect(state.statistics.totalHandoffs).toBe(1);
  expect(state.trail).toEqual([
    expect.objectContaining({ kind: 'handoff', from: 'receptionist', to: 'order', turn: 1 }),
  ]);

  // Search attributes, so the Temporal UI can filter conversations.
  const description = await handle.describe();
  expect(description.typedSearchAttributes.get(CURRENT_AGENT)).toBe('order');
  expect(description.typedSearchAttributes.get(CUSTOMER_ID)).toBe('alice');
  expect(description.typedSearchAttributes.get(HANDOFF_COUNT)).toBe(1);

  // Activity summaries: the event history reads like a run log.
  expect(await activitySummaries(handle)).toEqual([
    'receptionist: model step',
    'order: model step',
    'order: get_order_status order 12345',
    'order: model step',
  ]);
});

test('"I don\'t want order #12345 anymore, please refund": billing refunds $99.99, exactly once', async () => {
  await startWorker();
  const { handle, reply } = await startWithMessage(
    server.client,
    { customerId: 'alice' },
    "I don't want order #12345 anymore, please refund",
  );

  expect(reply.agent).toBe('billing');
  expect(reply.text).toContain('(offline model)');
  expect(reply.text).toContain('$99.99');
  expect(reply.text).toContain('#12345');
  expectHandoff(reply, 'receptionist', 'billing');
  expect(expectToolOk(reply, 'billing', 'process_refund', '12345')).toMatchObject({ order_id: '12345', amount: 99.99 });
  expect((await handle.query(stateQuery)).statistics.path).toBe('receptionist -> billing');
  expect(await activitySummaries(handle)).toEqual([
    'receptionist: model step',
    'billing: model step',
    'billing: get_order_status order 12345',
    'billing: model step',
    'billing: process_refund order 12345 $99.99',
    'billing: model step',
  ]);

  await worker!.stop();
  // Exactly one new refund row: the seed's refunds (none for 12345) plus this one.
  expect(await shopRows<{ n: number }>('SELECT COUNT(*) AS n FROM refunds')).toEqual([{ n: SEED_REFUNDS.length + 1 }]);
  const refunds = await shopRows<{ amount_cents: number; idempotency_key: string }>(
    "SELECT amount_cents, idempotency_key FROM refunds WHERE order_id = '12345'",
  );
  expect(refunds).toEqual([
    { amount_cents: 9999, idempotency_key: expect.stringMatching(new RegExp(`^${handle.workflowId}:1:`)) },
  ]);
});

test('"My order #67890 hasn\'t shipped yet, can I cancel and refund?": order cancels, billing refunds $149.99', async () => {
  await startWorker();
  const { handle, reply } = await startWithMessage(
    server.client,
    { customerId: 'alice' },
    "My order #67890 hasn't shipped yet, can I cancel and refund?",
  );

  expect(reply.agent).toBe('billing');
  expect(reply.text).toContain('(offline model)');
  expect(reply.text).toContain('$149.99');
  expectHandoff(reply, 'receptionist', 'order');
  expectHandoff(reply, 'order', 'billing');
  expect(expectToolOk(reply, 'order', 'cancel_order', '67890')).toMatchObject({ order_id: '67890' });
  expect(expectToolOk(reply, 'billing', 'process_refund', '67890')).toMatchObject({ amount: 149.99 });

  const state = await handle.query(stateQuery);
  expect(state.statistics.path).toBe('receptionist -> order -> billing');
  expect(state.statistics.totalHandoffs).toBe(2);
  expect((await handle.describe()).typedSearchAttributes.get(HANDOFF_COUNT)).toBe(2);

  // The conversation stays open for the next message, with billing.
  const next = await sendMessage(handle, 'Thanks! Can I have the invoice for order #67890?');
  expect(next.agent).toBe('billing');
  expect(next.turn).toBe(2);
  expect(next.text).toContain('refunded $149.99');

  await worker!.stop();
  expect(await shopRows<{ status: string }>("SELECT status FROM orders WHERE id = '67890'")).toEqual([
    { status: 'cancelled' },
  ]);
  expect(
    await shopRows<{ order_id: string }>("SELECT order_id FROM cancellations WHERE order_id = '67890'"),
  ).toHaveLength(1);
  expect(await shopRows<{ amount_cents: number }>("SELECT amount_cents FROM refunds WHERE order_id = '67890'")).toEqual(
    [{ amount_cents: 14999 }],
  );
});
