/**
 * Changing the desk while conversations run (README, "Changing an agent while conversations run"):
 * a v1 worker serves conversations, some caught in the middle of a turn (their model steps held
 * by the model proxy), some idle between turns, one about to be ended; a v2 worker with a changed
 * desk (test/fixtures/desk-v2: billing gains track_shipment, tech loses its handoff to the
 * receptionist, the receptionist's prompt changes) starts, and `npm run deploy -- current v2`
 * makes it current while v1 drains. Then:
 *
 * - every turn that began on v1 finishes there with v1's behaviour (a refund made once), and every
 *   v1 conversation that goes on moves to v2 at its next turn boundary (continue-as-new), so v1
 *   can be stopped and they still answer;
 * - new conversations run v2: the execution names deployment version desk:v2, billing tracks a
 *   parcel itself, tech cannot hand a refund back to the receptionist;
 * - no conversation has a single workflow task failure.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { openShopStore } from '../../activities/store';
import { conversationHandle, sendMessage, startWithMessage, type ConversationHandle } from '../../client/conversations';
import { OFFLINE_MODEL_ID } from '../../offline-model';
import { endSignal, type AgentReply, type TurnEvent } from '../../workflows/messages';
import { REPO, spawnWorker, startPrivateServer, type PrivateServer, type WorkerProcess } from '../helpers/e2e';
import { historyHealth } from '../helpers/history';
import { startModelProxy, type ModelProxy } from '../helpers/model-proxy';

let server: PrivateServer;
let model: ModelProxy;
let release!: () => void;
const released = new Promise<void>((resolve) => (release = resolve));
const workers: WorkerProcess[] = [];

/** A turn whose customer says "no rush" waits at the model until the test releases it. */
const HOLD = 'no rush';

beforeAll(async () => {
  server = await startPrivateServer();
  model = await startModelProxy((body) => (body.includes(HOLD) ? released : Promise.resolve()));
}, 120_000);

afterAll(async () => {
  release();
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  await model?.close();
  await server?.stop();
});

/** The deployment version a conversation's current run is on, as the server describes it. */
async function versionOf(client: Client, workflowId: string): Promise<string | undefined> {
  const { raw } = await client.workflow.getHandle(workflowId).describe();
  const v = raw.workflowExecutionInfo?.versioningInfo?.deploymentVersion;
  return v ? `${v.deploymentName}:${v.buildId}` : undefined;
}

async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function deploy(...args: string[]): Promise<string> {
  return promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(REPO, 'scripts', 'deploy.ts'), ...args], {
    cwd: REPO,
    env: { ...process.env, TEMPORAL_ADDRESS: server.address },
  }).then((r) => r.stdout.trim());
}

const handoffs = (reply: AgentReply) =>
  reply.events.flatMap((e: TurnEvent) => (e.type === 'handoff' ? [`${e.from} -> ${e.to}`] : []));
const toolsRun = (reply: AgentReply) =>
  reply.events.flatMap((e: TurnEvent) => (e.type === 'tool_call' ? [`${e.agent}: ${e.tool}`] : []));

test('v2 becomes current while v1 drains: every conversation goes on, none fails a workflow task, new ones run v2', async () => {
  const shopDb = path.join(server.dir, 'shop.db');
  const base = {
    TEMPORAL_ADDRESS: server.address,
    SHOP_DB: shopDb,
    OPENAI_BASE_URL: model.baseURL,
    OPENAI_MODEL: OFFLINE_MODEL_ID,
    DESK_DEPLOYMENT: undefined,
    DESK_VERSIONING: undefined,
    DESK_PROMOTE: undefined,
  };
  const client = server.client;

  // v1: the first worker of the deployment makes itself current (DESK_PROMOTE's default, if-none).
  const v1 = spawnWorker({ ...base, DESK_BUILD_ID: 'v1' });
  workers.push(v1);
  await v1.ready;
  expect(v1.output()).toContain('desk:v1 made current (was: none)');

  // Idle conversations: one turn each on v1, then nothing.
  const idleBilling = await startWithMessage(
    client,
    { customerId: 'alice' },
    'Can I get the invoice for order #12345?',
  );
  expect(idleBilling.reply).toMatchObject({ agent: 'billing', text: expect.stringContaining('Invoice') });
  const idleTech = await startWithMessage(client, { customerId: 'bob' }, 'My webhook integration gives error 401');
  expect(idleTech.reply.agent).toBe('tech');
  const idleToEnd = await startWithMessage(client, { customerId: 'alice' }, 'hello');
  expect(idleToEnd.reply.agent).toBe('receptionist');

  // Mid-turn conversations: their first model step waits at the model until the release.
  const midTurn = {
    refund: startWithMessage(client, { customerId: 'alice' }, `Please refund order #11111, ${HOLD}`),
    status: startWithMessage(client, { customerId: 'bob' }, `Has my order #24680 shipped? ${HOLD}`),
    tech: startWithMessage(client, { customerId: 'bob' }, `The API returns error 500 on every call, ${HOLD}`),
  };
  for (const p of Object.values(midTurn)) p.catch(() => undefined);
  await eventually(
    async () => model.inFlight(),
    (n) => n === 3,
    'model steps held',
  );

  // v2 starts without taking anything, then becomes current.
  const v2 = spawnWorker({ ...base, DESK_BUILD_ID: 'v2', DESK_PROMOTE: 'never' }, { entry: 'desk-v2' });
  workers.push(v2);
  await v2.ready;
  expect(v2.output()).toContain('desk:v2 is not current (current: desk:v1)');
  expect(await deploy('current', 'v2')).toBe('desk:v2 is current (was: desk:v1)');

  // The turns caught in the middle finish on v1, with v1's desk.
  release();
  const refund = await midTurn.refund;
  expect(handoffs(refund.reply)).toEqual(['receptionist -> billing']);
  expect(refund.reply).toMatchObject({ agent: 'billing', text: expect.stringContaining('I have refunded $') });
  const status = await midTurn.status;
  expect(status.reply).toMatchObject({ agent: 'order', text: expect.stringContaining('Order #24680 is shipped') });
  const tech = await midTurn.tech;
  expect(tech.reply.agent).toBe('tech');

  // Idle ones: the next turn is still v1's (billing hands tracking to order; tech hands a refund
  // back to the receptionist), then the conversation moves to v2.
  const tracked = await sendMessage(idleBilling.handle, 'Can you track order #12345?');
  expect(handoffs(tracked)).toEqual(['billing -> order']);
  expect(tracked.text).toContain('TRK-98765');
  const refundFromTech = await sendMessage(idleTech.handle, 'Actually I want a refund for order #97531');
  expect(handoffs(refundFromTech)).toEqual(['tech -> receptionist', 'receptionist -> billing']);
  expect(refundFromTech.text).toContain('I have refunded $');
  // Ended on v1: a signal is a workflow task too, and v1 is still there to run it.
  await idleToEnd.handle.signal(endSignal);
  expect(await idleToEnd.handle.result()).toMatchObject({ status: 'closed', closedReason: 'ended' });

  // New conversations run v2.
  const newBilling = await startWithMessage(client, { customerId: 'alice' }, 'Can I get the invoice for order #12345?');
  expect(await versionOf(client, newBilling.handle.workflowId)).toBe('desk:v2');
  const trackedByBilling = await sendMessage(newBilling.handle, 'Can you track order #12345?');
  expect(handoffs(trackedByBilling)).toEqual([]);
  expect(toolsRun(trackedByBilling)).toEqual(['billing: track_shipment']);
  expect(trackedByBilling).toMatchObject({ agent: 'billing', text: expect.stringContaining('TRK-98765') });
  const newTech = await startWithMessage(client, { customerId: 'bob' }, 'The API returns error 500 on every call');
  expect(newTech.reply.agent).toBe('tech');
  const refundAtTech = await sendMessage(newTech.handle, 'Actually I want a refund for order #13579');
  expect(handoffs(refundAtTech)).toEqual([]);
  expect(refundAtTech).toMatchObject({ agent: 'tech', text: expect.stringContaining("can't do that from here") });

  // Every v1 conversation still open has moved to v2 at its turn boundary: v1 can go.
  const moved: ConversationHandle[] = [refund.handle, status.handle, tech.handle, idleBilling.handle, idleTech.handle];
  for (const h of moved)
    await eventually(
      () => versionOf(client, h.workflowId),
      (v) => v === 'desk:v2',
      `${h.workflowId} on v2`,
    );
  const versions = await eventually(
    async () =>
      JSON.parse(await deploy('versions', '--json')) as { buildId: string; status: string; running: number }[],
    (rows) => rows.find((r) => r.buildId === 'v1')?.running === 0,
    'conversations running on v1',
  );
  expect(versions.find((r) => r.buildId === 'v2')?.status).toBe('current');
  await v1.stop();
  for (const h of moved) {
    const reply = await sendMessage(conversationHandle(client, h.workflowId), 'Thanks! Has order #12345 shipped?');
    expect(reply.text).toContain('(offline model)');
  }

  // Not one workflow task failed, in any run of any conversation; each moved one is two runs.
  for (const h of [...moved, idleToEnd.handle, newBilling.handle, newTech.handle]) {
    const health = await historyHealth(client, h.workflowId);
    expect({ id: h.workflowId, failures: health.taskFailures }).toEqual({ id: h.workflowId, failures: [] });
    expect(health.runs).toHaveLength(moved.includes(h) ? 2 : 1);
  }

  // Money moved once: the two refunds made on v1, none by v2's tech.
  const store = await openShopStore(shopDb);
  try {
    expect(
      await store.query("SELECT order_id FROM refunds WHERE order_id IN ('11111', '97531', '13579') ORDER BY order_id"),
    ).toEqual([{ order_id: '11111' }, { order_id: '97531' }]);
  } finally {
    await store.close();
  }
}, 300_000);
