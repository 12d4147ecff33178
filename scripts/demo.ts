/**
 * `npm run demo`: the desk end to end on its embedded defaults, then everything stopped.
 * Starts (or reuses) the Temporal dev server, runs a real worker in this process with the offline
 * model (or OPENAI_* if set) and a demo shop database reset to the seed, and plays the seed's three
 * scenarios plus a rollback, printing each turn's run log, the handoff path and the UI link; then the
 * large-refund scenario: a refund above the approval limit waits, is listed, approved by a named
 * supervisor, and refunded once (a second approval is refused).
 */
import path from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { resetShopStore } from '../activities/store';
import { formatState, formatUsage, formatTurn } from '../client/run-log';
import { uiLink } from '../config/connection';
import { decideApproval, sendMessage, startWithMessage, withEnvPolicy } from '../client/conversations';
import { formatPendingRows, listPendingApprovals } from '../client/commands/approvals';
import { formatApprovals } from '../client/run-log';
import { endSignal, stateQuery } from '../workflows/messages';
import { requestRollback } from '../client/rollback';
import { createDeskRuntime, type DeskRuntime } from '../worker/runtime';
import { createDeskWorker, deploymentOption, installRuntime, promoteWorker, versionLine } from '../worker/worker';
import { versioningFromEnv } from '../worker/versioning';
import { DEFAULT_UI_PORT, startDevServer } from './dev-server';
import { Client, Connection } from '@temporalio/client';
import { PROJECT_DIR, TEMPORAL_CLI_VERSION } from './temporal-binaries';

/** Its own task queue and shop file, so a worker from `npm start` never picks up the demo's work. */
const DEMO_TASK_QUEUE = 'customer-service-demo';
const DEMO_SHOP_DB = path.join(PROJECT_DIR, '.data', 'demo-shop.db');
/**
 * Versioned like every desk worker, as a deployment of its own (a desk's DESK_DEPLOYMENT and
 * DESK_BUILD_ID are not the demo's), whose version the demo makes current: the one worker it runs.
 */
const DEMO_VERSIONING = versioningFromEnv({
  DESK_VERSIONING: process.env.DESK_VERSIONING,
  DESK_DEPLOYMENT: 'desk-demo',
  DESK_PROMOTE: 'always',
});

const SCENARIOS = [
  { title: 'Order status', text: 'Has my order #12345 shipped?', rollbackAfter: true },
  { title: 'Refund through billing', text: "I don't want order #12345 anymore, please refund", rollbackAfter: false },
  {
    title: 'Cancel, then refund: two handoffs',
    text: "My order #67890 hasn't shipped yet, can I cancel and refund?",
    rollbackAfter: false,
  },
] as const;

const log = (line = '') => console.log(line);

async function main(): Promise<void> {
  const started = Date.now();
  installRuntime('WARN');
  log(`[demo] Temporal CLI ${TEMPORAL_CLI_VERSION} (pinned); starting the dev server…`);
  const server = await startDevServer({ uiPort: DEFAULT_UI_PORT, log: (l) => log(l) });
  log(
    server.reused
      ? `[demo] reusing the Temporal server already running at ${server.address}`
      : `[demo] dev server up at ${server.address}, UI ${server.uiUrl}`,
  );

  const runtime = await createDeskRuntime({ shopDb: DEMO_SHOP_DB });
  await resetShopStore(runtime.store);
  log(`[demo] ${runtime.description} (reset to the seed data)`);
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const worker = await createDeskWorker({
    connection: nativeConnection,
    activities: runtime.activities,
    taskQueue: DEMO_TASK_QUEUE,
    ...deploymentOption(DEMO_VERSIONING),
  });
  log(`[demo] worker polling task queue ${DEMO_TASK_QUEUE}; ${versionLine(worker)}`);

  let failed = false;
  try {
    await worker.runUntil(async () => {
      const promoted = await promoteWorker(worker, nativeConnection, DEMO_VERSIONING);
      if (promoted) log(`[demo] ${promoted}`);
      for (const [i, scenario] of SCENARIOS.entries()) {
        log();
        log(`=== Scenario ${i + 1}: ${scenario.title} (customer alice) ===`);
        log(`customer> ${scenario.text}`);
        const { handle, reply } = await startWithMessage(
          client,
          withEnvPolicy({ customerId: 'alice' }),
          scenario.text,
          {
            taskQueue: DEMO_TASK_QUEUE,
          },
        );
        log(formatTurn(reply));
        if (scenario.rollbackAfter) {
          log(`[demo] signal: rollback ("customer asked for the front desk")`);
          await requestRollback(handle, 'customer asked for the front desk', runtime.store.interrupts);
          const next = await sendMessage(handle, 'Thanks. Who am I talking to now?');
          log(`customer> Thanks. Who am I talking to now?`);
          log(formatTurn(next));
        }
        const state = await handle.query(stateQuery);
        log(formatState(state).split('\n').slice(0, 3).join('\n'));
        log(formatUsage(state).join('\n'));
        log(`conversation: ${handle.workflowId}`);
        log(
          `Temporal UI:  ${uiLink(handle.workflowId, { address: server.address, namespace: 'default', connectionOptions: {} })}`,
        );
        await handle.signal(endSignal);
        await handle.result();
      }
      await approvalScenario(client, runtime.store);
    });
  } catch (err) {
    failed = true;
    console.error(`[demo] failed: ${(err as Error).message}`);
  } finally {
    await connection.close();
    await nativeConnection.close();
    await runtime.close();
    await server.stop();
  }
  log();
  if (!server.reused)
    log(
      `[demo] dev server stopped; its history is kept in .data/temporal.db — run \`npm run server\` to browse these conversations in the UI.`,
    );
  log(`[demo] ${failed ? 'FAILED' : 'done'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exit(failed ? 1 : 0);
}

/** Scenario 4: bob's $450 refund waits for a supervisor, is found in the approvals list, approved once. */
async function approvalScenario(client: Client, store: DeskRuntime['store']): Promise<void> {
  const supervisor = 'sam.supervisor';
  const text = "I'd like a refund for order #86420, the projector arrived broken";
  log();
  log(`=== Scenario 4: A refund above $200 waits for a person (customer bob) ===`);
  log(`customer> ${text}`);
  // The policy rides in the start input; DESK_APPROVERS etc. would set it the same way (withEnvPolicy).
  const { handle, reply } = await startWithMessage(
    client,
    withEnvPolicy({ customerId: 'bob', policy: { approvers: [supervisor] } }),
    text,
    { taskQueue: DEMO_TASK_QUEUE },
  );
  log(formatTurn(reply));
  // Visibility is eventually consistent: wait (briefly) until the request shows in the list.
  let rows = await listPendingApprovals(client, 100);
  for (let i = 0; i < 50 && !rows.some((r) => r.conversationId === handle.workflowId); i++) {
    await new Promise((r) => setTimeout(r, 200));
    rows = await listPendingApprovals(client, 100);
  }
  const mine = rows.filter((r) => r.conversationId === handle.workflowId);
  if (!mine.length) throw new Error('the pending approval did not show in the approvals list');
  log(`$ npm run client -- approvals`);
  log(formatPendingRows(mine));
  const approvalId = mine[0]!.approvalId;
  log(
    `$ npm run client -- approve ${handle.workflowId} ${approvalId} --by ${supervisor} --note "photos of the damage checked"`,
  );
  const outcome = await decideApproval(handle, {
    approvalId,
    decision: 'approve',
    by: supervisor,
    note: 'photos of the damage checked',
  });
  log(
    `${outcome.approval.id} ${outcome.approval.status} by ${outcome.approval.decidedBy}: refund ${outcome.approval.refundId ?? outcome.approval.refundError}`,
  );
  log(`${outcome.approval.agent}> ${outcome.text}`);
  log(`$ npm run client -- approve ${handle.workflowId} ${approvalId} --by ${supervisor}   (again)`);
  const again = await decideApproval(handle, { approvalId, decision: 'approve', by: supervisor }).then(
    () => 'approved a second time (this is a bug)',
    (err: unknown) =>
      `error: decision rejected: ${(err as { cause?: Error }).cause?.message ?? (err as Error).message}`,
  );
  log(again);
  const refunds = await store.listRefunds('86420');
  log(
    `shop: ${refunds.length} refund row(s) for order 86420: ${refunds.map((r) => `${r.id} $${(r.amountCents / 100).toFixed(2)}`).join(', ')}`,
  );
  if (refunds.length !== 1) throw new Error(`expected exactly one refund of order 86420, found ${refunds.length}`);
  const state = await handle.query(stateQuery);
  log(formatApprovals(state).join('\n'));
  log(`conversation: ${handle.workflowId}`);
  await handle.signal(endSignal);
  await handle.result();
}

main().catch((err: unknown) => {
  console.error(`[demo] ${(err as Error).message}`);
  process.exit(1);
});
