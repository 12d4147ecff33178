/**
 * A dead worker costs seconds, and money moves exactly once across it. Two kills, each timed from
 * the kill to the customer's reply (printed, so CI logs show the recovery times):
 *
 * - during a slow (5 s) model step: the step heartbeats, so Temporal notices the dead worker within
 *   the 10 s heartbeat timeout instead of the step's 2 minute start-to-close timeout;
 * - during a tool call: worker A runs with a fault injected around its activities
 *   (test/helpers/faults.ts), so it SIGKILLs itself right after the refund's transaction commits
 *   and before the activity can report back, the worst moment for exactly-once. Temporal notices
 *   through the tool call's start-to-close timeout (workflows/options.ts, 10 s) and retries the
 *   activity on worker B, which must find the recorded outcome under the workflow-built
 *   idempotency key instead of refunding again. One confirmation; one refund row.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { openShopStore } from '../../activities/store';
import { decideApproval, startWithMessage } from '../../client/conversations';
import { OFFLINE_MODEL_ID } from '../../offline-model';
import {
  EXECUTION_MODES,
  WORKFLOW_TASK_TIMEOUT_MS,
  endSignal,
  historyQuery,
  stateQuery,
} from '../../workflows/messages';
import type { ToolRunInput } from '../../contract/transcript';
import { spawnWorker, startPrivateServer, type PrivateServer, type WorkerProcess } from '../helpers/e2e';
import { startModelProxy, type ModelProxy } from '../helpers/model-proxy';

let server: PrivateServer;
let dir: string;
const workers: WorkerProcess[] = [];
/** Cancels a client call still waiting when a test fails, so nothing polls a stopped server. */
let pending: AbortController;

beforeAll(async () => {
  server = await startPrivateServer();
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'desk-e2e-crash-'));
  pending = new AbortController();
});

afterEach(async () => {
  pending.abort();
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A worker (this test's shop database, the private server) that SIGKILLs itself right after a
 * refund commits and leaves that refund's idempotency key in `marker`; ready when returned.
 */
async function refundKillingWorker(): Promise<{
  shopDb: string;
  marker: string;
  base: Record<string, string>;
  worker: WorkerProcess;
}> {
  const shopDb = path.join(dir, 'shop.db');
  const marker = path.join(dir, 'fault-fired');
  const base = { TEMPORAL_ADDRESS: server.address, SHOP_DB: shopDb };
  const worker = spawnWorker(
    { ...base, DESK_FAULT: 'kill-after-commit:process_refund', DESK_FAULT_MARKER: marker },
    { entry: 'fault-worker' },
  );
  workers.push(worker);
  await worker.ready;
  return { shopDb, marker, base, worker };
}

// Every execution mode: in `local-tools` the refund is a local activity, which a new worker runs again
// after the dead one's workflow task times out; the shop's ledger answers with the result. In `local`
// the model steps are local, but the refund is an ordinary activity: scheduling it recorded the
// decision to refund, and worker B retries that very call.
test.each(EXECUTION_MODES)(
  'a worker killed after the refund commits (%s): a new worker finishes the turn, with exactly one refund',
  async (execution) => {
    const { shopDb, marker, base, worker: workerA } = await refundKillingWorker();

    // The update waits for its reply across the crash; it is awaited only once worker B runs.
    const started = server.client.withAbortSignal(pending.signal, () =>
      startWithMessage(
        server.client,
        { customerId: 'alice', execution },
        "I don't want order #12345 anymore, please refund",
      ),
    );
    started.catch(() => undefined);

    const exit = await workerA.exited;
    const killedAt = Date.now();
    expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(existsSync(marker)).toBe(true);
    const idempotencyKey = readFileSync(marker, 'utf8').trim();
    expect(idempotencyKey).toMatch(/^conversation-alice-[0-9a-f]{8}:1:\d+:0$/);

    const workerB = spawnWorker({ ...base, DESK_FAULT: undefined, DESK_FAULT_MARKER: undefined });
    workers.push(workerB);
    await workerB.ready;

    const { handle, reply } = await started;
    const recoveryMs = Date.now() - killedAt;
    console.log(
      `[worker-crash] ${execution}: killed right after the refund committed: reply ${recoveryMs} ms after the kill (tool call timeout 10 s, workflow task timeout ${WORKFLOW_TASK_TIMEOUT_MS[execution] / 1000} s)`,
    );

    // The customer hears once that the refund was made.
    expect(reply.agent).toBe('billing');
    expect(reply.text).toContain('(offline model)');
    expect(reply.text).toMatch(/refunded \$99\.99 for order #12345/);
    const refundCalls = reply.events.filter((e) => e.type === 'tool_call' && e.tool === 'process_refund');
    expect(refundCalls).toHaveLength(1);
    // The result came from the retry on worker B, which replayed the outcome recorded by worker A.
    expect(refundCalls[0]).toMatchObject({
      result: { ok: true, replayed: true, data: { order_id: '12345', amount: 99.99 } },
    });

    // The transcript holds the refund's result exactly once.
    const history = await handle.query(historyQuery);
    const refundResults = history.filter((m) => m.role === 'tool' && m.name === 'process_refund');
    expect(refundResults).toHaveLength(1);
    expect(JSON.parse(refundResults[0]!.content as string)).toMatchObject({
      ok: true,
      data: { order_id: '12345', amount: 99.99 },
    });

    // The event history shows the crash: the refund completed on a later attempt.
    const events = (await handle.fetchHistory()).events ?? [];
    const markers = events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity');
    if (execution === 'local-tools') {
      // No activity events for tool calls: they are local-activity markers, and worker A's task timed out.
      expect(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runTool')).toEqual(
        [],
      );
      expect(markers).toHaveLength(2);
      expect(events.some((e) => e.workflowTaskTimedOutEventAttributes)).toBe(true);
    } else {
      // The refund is an ordinary activity (in `local` too: a call that changes the shop ends the
      // workflow task first, recording the decision that asked for it), retried on worker B.
      const refundScheduled = events.filter((e) => {
        const attrs = e.activityTaskScheduledEventAttributes;
        if (attrs?.activityType?.name !== 'runTool' || !attrs.input?.payloads?.[0]) return false;
        return defaultPayloadConverter.fromPayload<ToolRunInput>(attrs.input.payloads[0]).tool === 'process_refund';
      });
      expect(refundScheduled).toHaveLength(1);
      const scheduledId = refundScheduled[0]!.eventId!.toString();
      const refundStarted = events.find(
        (e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === scheduledId,
      );
      expect(refundStarted?.activityTaskStartedEventAttributes?.attempt).toBeGreaterThanOrEqual(2);
      // In `local` the 4 model steps and get_order_status are markers; no other activity ran.
      if (execution === 'local') {
        expect(markers.length).toBeGreaterThanOrEqual(5);
        expect(events.filter((e) => e.activityTaskScheduledEventAttributes)).toHaveLength(1);
      } else expect(markers).toEqual([]);
    }

    // The conversation is done with this turn and closes cleanly.
    await handle.signal(endSignal);
    const final = await handle.result();
    expect(final).toMatchObject({ status: 'closed', closedReason: 'ended', currentAgent: 'billing', turn: 1 });
    expect(final.statistics.path).toBe('receptionist -> billing');
    await expect(handle.query(stateQuery)).resolves.toMatchObject({ status: 'closed' });

    // Money moved exactly once.
    await workerB.stop();
    const store = await openShopStore(shopDb);
    try {
      const refunds = await store.query("SELECT amount_cents, idempotency_key FROM refunds WHERE order_id = '12345'");
      expect(refunds).toEqual([{ amount_cents: 9999, idempotency_key: idempotencyKey }]);
      const toolCalls = await store.query("SELECT idempotency_key FROM tool_calls WHERE tool = 'process_refund'");
      expect(toolCalls).toEqual([{ idempotency_key: idempotencyKey }]);
    } finally {
      await store.close();
    }
  },
  120_000,
);

test('a worker killed between an approval and its refund commit reporting: a new worker finishes the decision, one refund', async () => {
  // The request itself runs no refund (it waits for a person), so the fault fires on the approved refund.
  const { shopDb, marker, base, worker: workerA } = await refundKillingWorker();

  const { handle, reply } = await server.client.withAbortSignal(pending.signal, () =>
    startWithMessage(
      server.client,
      { customerId: 'bob' },
      "I'd like a refund for order #86420, the projector arrived broken",
    ),
  );
  const requested = reply.events.find((e) => e.type === 'approval_requested');
  expect(requested).toMatchObject({ orderId: '86420', amountCents: 45000 });
  const approvalId = requested?.type === 'approval_requested' ? requested.approvalId : '';

  const decided = server.client.withAbortSignal(pending.signal, () =>
    decideApproval(handle, { approvalId, decision: 'approve', by: 'sam.supervisor' }),
  );
  decided.catch(() => undefined);
  expect(await workerA.exited).toEqual({ code: null, signal: 'SIGKILL' });
  const killedAt = Date.now();
  expect(readFileSync(marker, 'utf8').trim()).toBe(`${handle.workflowId}:approval:${approvalId}`);

  const workerB = spawnWorker({ ...base, DESK_FAULT: undefined, DESK_FAULT_MARKER: undefined });
  workers.push(workerB);
  await workerB.ready;
  const outcome = await decided;
  console.log(
    `[worker-crash] killed right after an approved refund committed: decision answered ${Date.now() - killedAt} ms after the kill`,
  );
  expect(outcome.approval).toMatchObject({
    id: approvalId,
    status: 'approved',
    decidedBy: 'sam.supervisor',
    refundId: expect.stringMatching(/^RF-/),
  });
  expect(outcome.text).toContain(outcome.approval.refundId);
  // The customer is told once.
  expect(
    (await handle.query(historyQuery)).filter(
      (m) => m.role === 'assistant' && m.content?.includes('approved your refund'),
    ),
  ).toHaveLength(1);
  await handle.signal(endSignal);
  await handle.result();

  await workerB.stop();
  const store = await openShopStore(shopDb);
  try {
    expect(await store.query("SELECT amount_cents, idempotency_key FROM refunds WHERE order_id = '86420'")).toEqual([
      { amount_cents: 45000, idempotency_key: `${handle.workflowId}:approval:${approvalId}` },
    ]);
    expect(await store.query("SELECT idempotency_key FROM tool_calls WHERE tool = 'process_refund'")).toEqual([
      { idempotency_key: `${handle.workflowId}:approval:${approvalId}` },
    ]);
  } finally {
    await store.close();
  }
}, 120_000);

/** Every model request held for `delayMs` (test/helpers/model-proxy.ts). */
function slowModel(delayMs: number): Promise<ModelProxy> {
  return startModelProxy(() => new Promise((resolve) => setTimeout(resolve, delayMs)));
}

test('a worker killed during a slow model step: the heartbeat timeout notices it in seconds, a new worker answers', async () => {
  const model = await slowModel(5_000);
  try {
    const base = {
      TEMPORAL_ADDRESS: server.address,
      SHOP_DB: path.join(dir, 'shop.db'),
      OPENAI_BASE_URL: model.baseURL,
      OPENAI_MODEL: OFFLINE_MODEL_ID,
    };
    const workerA = spawnWorker(base);
    workers.push(workerA);
    await workerA.ready;

    // A greeting takes one model step (the receptionist asks what it is about): 5 s at this endpoint.
    const started = server.client.withAbortSignal(pending.signal, () =>
      startWithMessage(server.client, { customerId: 'bob' }, 'hello'),
    );
    started.catch(() => undefined);
    await model.arrived;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(model.inFlight()).toBe(1); // worker A is waiting on its model step
    workerA.child.kill('SIGKILL');
    await workerA.exited;
    const killedAt = Date.now();

    const workerB = spawnWorker(base);
    workers.push(workerB);
    await workerB.ready;
    const { handle, reply } = await started;
    const recoveryMs = Date.now() - killedAt;
    console.log(
      `[worker-crash] killed during a 5 s model step: reply ${recoveryMs} ms after the kill (heartbeat timeout 10 s)`,
    );

    expect(reply).toMatchObject({ agent: 'receptionist', text: expect.stringContaining('(offline model)') });
    // The step was retried (a second attempt), not waited out: the start-to-close timeout is 2 minutes.
    const events = (await handle.fetchHistory()).events ?? [];
    const stepStarted = events.find((e) => e.activityTaskStartedEventAttributes);
    expect(stepStarted?.activityTaskStartedEventAttributes?.attempt).toBe(2);
    expect(events.some((e) => e.activityTaskTimedOutEventAttributes)).toBe(false); // retried within the activity, not failed to the workflow
    expect(recoveryMs).toBeLessThan(60_000);
    await handle.signal(endSignal);
  } finally {
    await model.close();
  }
}, 120_000);
