/**
 * Refund approvals in the time-skipping environment, with the strict scripted model and the real
 * tools on a temporary shop: a refund above the limit waits for a person; approve (refunded once,
 * even when approved twice or when the refund's first attempt dies after its commit), reject, the
 * deadline (declined, or escalated), a decision racing the deadline, rollback, idle and
 * continue-as-new with an approval pending, the model asking again, and bad decisions refused
 * with one clear line and nothing changed. Assertions are on replies, the transcript, the trail,
 * the search attribute and the shop's rows.
 */
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowUpdateStage } from '@temporalio/client';
import { conversation } from '../../workflows';
import {
  PENDING_APPROVALS,
  decideApprovalUpdate,
  historyQuery,
  endSignal,
  rollbackSignal,
  sendMessageUpdate,
  stateQuery,
  type ConversationInput,
  type DecideApprovalInput,
} from '../../workflows/messages';
import type { ModelStepInput, ToolRunInput, ToolRunResult } from '../../contract/transcript';
import { createToolRunner } from '../../activities/tools';
import { reply, scriptedModel, toolCalls, transfer, type ScriptStep } from '../helpers/scripted-model';
import { recordHistory } from '../helpers/histories';
import {
  finishLeftover,
  rejection,
  runWithWorker,
  send,
  uniqueTaskQueue,
  useWorkflowTestContext,
} from '../helpers/temporal-env';

const t = useWorkflowTestContext();

type Handle = Awaited<ReturnType<typeof t.env.client.workflow.start<typeof conversation>>>;

async function withBob<T>(
  script: ScriptStep[],
  body: (handle: Handle) => Promise<T>,
  opts: {
    input?: Partial<ConversationInput>;
    runTool?: (input: ToolRunInput) => Promise<ToolRunResult>;
    overrides?: { maxCachedWorkflows: number };
  } = {},
): Promise<T> {
  const model = scriptedModel(script);
  const taskQueue = uniqueTaskQueue();
  const result = await runWithWorker(
    t.env,
    {
      bundle: t.bundle,
      taskQueue,
      callModel: model.callModel,
      store: t.shop.store,
      runTool: opts.runTool,
      overrides: opts.overrides,
    },
    async () => {
      const handle = await t.env.client.workflow.start(conversation, {
        taskQueue,
        workflowId: `a-${taskQueue}`,
        args: [{ customerId: 'bob', ...opts.input }],
      });
      const value = await body(handle);
      await finishLeftover(t.env, handle.workflowId);
      return value;
    },
  );
  model.assertDone();
  return result;
}

const decide = (d: DecideApprovalInput) => ({ args: [d] as [DecideApprovalInput] });
const APPROVAL = 'apr-1-1-0'; // turn 1, step 1 (billing's first), call 0

function lastTool(input: ModelStepInput): Record<string, unknown> {
  const last = input.messages.at(-1);
  if (last?.role !== 'tool') throw new Error(`expected a tool result last, got ${last?.role}`);
  return JSON.parse(last.content) as Record<string, unknown>;
}

/** Bob asks for a refund of his $450 order; billing asks for it; the workflow makes it wait for a person. */
const REQUEST: ScriptStep[] = [
  { agent: 'receptionist', respond: transfer('billing', 'Customer wants a refund for order 86420') },
  {
    agent: 'billing',
    respond: toolCalls(['process_refund', { order_id: '86420', amount: 450, reason: 'Projector arrived broken' }]),
  },
  {
    agent: 'billing',
    check: (i) =>
      expect(lastTool(i)).toMatchObject({
        ok: true,
        data: { status: 'pending_approval', approval_id: APPROVAL, order_id: '86420', amount: 450 },
      }),
    respond: reply('A supervisor will decide on your refund.'),
  },
];

async function requestRefund(handle: Handle): Promise<void> {
  const answer = await handle.executeUpdate(
    sendMessageUpdate,
    send('Please refund order #86420, the projector arrived broken'),
  );
  expect(answer.text).toBe('A supervisor will decide on your refund.');
  expect(answer.events).toContainEqual(
    expect.objectContaining({ type: 'approval_requested', approvalId: APPROVAL, orderId: '86420', amountCents: 45000 }),
  );
}

const refundRows = () => t.shop.store.listRefunds('86420');

async function pendingAttribute(handle: Handle): Promise<number | undefined> {
  return (await handle.describe()).typedSearchAttributes.get(PENDING_APPROVALS);
}

describe('a refund above the limit waits for a person', () => {
  test('the refund does not run: the approval is pending, recorded in state and trail, visible as a search attribute', async () => {
    const ran: string[] = [];
    const real = createToolRunner(t.shop.store).runTool;
    await withBob(
      REQUEST,
      async (handle) => {
        await requestRefund(handle);
        const state = await handle.query(stateQuery);
        expect(state.approvals).toEqual([
          expect.objectContaining({
            id: APPROVAL,
            status: 'pending',
            orderId: '86420',
            amountCents: 45000,
            agent: 'billing',
            reason: 'Projector arrived broken',
            turn: 1,
          }),
        ]);
        const a = state.approvals[0]!;
        expect(Date.parse(a.deadline) - Date.parse(a.requestedAt)).toBe(24 * 60 * 60 * 1000);
        expect(state.trail.at(-1)).toMatchObject({ kind: 'approval', event: 'requested', approvalId: APPROVAL });
        expect(await pendingAttribute(handle)).toBe(1);
      },
      { runTool: async (input) => (ran.push(input.tool), real(input)) },
    );
    expect(ran).toEqual([]);
    expect(await refundRows()).toEqual([]);
  });

  test('at or under the limit a refund runs as before; the limit comes from the start policy', async () => {
    await withBob(
      [
        { agent: 'receptionist', respond: transfer('billing', 'refund') },
        {
          agent: 'billing',
          respond: toolCalls([
            'process_refund',
            { order_id: '86420', amount: 450, reason: 'Projector arrived broken' },
          ]),
        },
        {
          agent: 'billing',
          check: (i) =>
            expect(lastTool(i)).toMatchObject({ ok: true, data: { refund_id: expect.any(String), amount: 450 } }),
          respond: reply('Refunded.'),
        },
      ],
      async (handle) => {
        await handle.executeUpdate(sendMessageUpdate, send('refund 86420'));
        expect((await handle.query(stateQuery)).approvals).toEqual([]);
      },
      // The activity checks the limit with the worker's own setting too: raise both.
      {
        input: { policy: { refundApprovalLimitCents: 500_00 } },
        runTool: createToolRunner(t.shop.store, { refundApprovalLimitCents: 500_00 }).runTool,
      },
    );
    expect(await refundRows()).toEqual([expect.objectContaining({ amountCents: 45000 })]);
  });

  test('asked again, the model is told an approval is already pending, and nothing runs', async () => {
    const ran: string[] = [];
    const real = createToolRunner(t.shop.store).runTool;
    await withBob(
      [
        ...REQUEST,
        {
          agent: 'billing',
          respond: toolCalls(['process_refund', { order_id: '86420', amount: 450, reason: 'Still broken' }]),
        },
        {
          agent: 'billing',
          check: (i) =>
            expect(lastTool(i)).toMatchObject({
              ok: false,
              code: 'invalid_state',
              message: expect.stringContaining('An approval is already pending'),
            }),
          respond: reply('It is already waiting for a supervisor.'),
        },
      ],
      async (handle) => {
        await requestRefund(handle);
        expect((await handle.executeUpdate(sendMessageUpdate, send('any news on my refund?'))).text).toBe(
          'It is already waiting for a supervisor.',
        );
        expect((await handle.query(stateQuery)).approvals).toHaveLength(1);
      },
      { runTool: async (input) => (ran.push(input.tool), real(input)) },
    );
    expect(ran).toEqual([]);
  });
});

describe('decisions', () => {
  test('approve: the refund runs once, keyed by the approval; the customer is told; the trail says who and when', async () => {
    const inputs: ToolRunInput[] = [];
    const real = createToolRunner(t.shop.store).runTool;
    await withBob(
      REQUEST,
      async (handle) => {
        await requestRefund(handle);
        const outcome = await handle.executeUpdate(
          decideApprovalUpdate,
          decide({ approvalId: APPROVAL, decision: 'approve', by: 'sam.supervisor', note: 'photos checked' }),
        );
        expect(outcome.approval).toMatchObject({
          id: APPROVAL,
          status: 'approved',
          decidedBy: 'sam.supervisor',
          note: 'photos checked',
          refundId: expect.stringMatching(/^RF-/),
        });
        expect(outcome.text).toContain(`refund ${outcome.approval.refundId}`);
        const history = await handle.query(historyQuery);
        expect(history.at(-1)).toEqual({ role: 'assistant', agent: 'billing', content: outcome.text });
        const state = await handle.query(stateQuery);
        expect(state.trail.at(-1)).toMatchObject({
          kind: 'approval',
          event: 'approved',
          approvalId: APPROVAL,
          by: 'sam.supervisor',
          note: 'photos checked',
          at: outcome.approval.decidedAt,
        });
        expect(await pendingAttribute(handle)).toBe(0);
        expect(inputs).toEqual([
          expect.objectContaining({
            tool: 'process_refund',
            idempotencyKey: `${handle.workflowId}:approval:${APPROVAL}`,
            approval: { id: APPROVAL, by: 'sam.supervisor' },
          }),
        ]);
      },
      { runTool: async (input) => (inputs.push(input), real(input)) },
    );
    expect(await refundRows()).toEqual([expect.objectContaining({ amountCents: 45000 })]);
  });

  test('replaying every workflow task (maxCachedWorkflows: 0): request, a refused decision, approve (recorded for replay.test.ts by RECORD_HISTORIES=<release>)', async () => {
    await withBob(
      REQUEST,
      async (handle) => {
        await requestRefund(handle);
        expect(
          await rejection(
            handle.executeUpdate(
              decideApprovalUpdate,
              decide({ approvalId: APPROVAL, decision: 'approve', by: 'bob' }),
            ),
          ),
        ).toMatch(/cannot decide their own refund/);
        expect(
          (
            await handle.executeUpdate(
              decideApprovalUpdate,
              decide({ approvalId: APPROVAL, decision: 'approve', by: 'sam' }),
            )
          ).approval.refundId,
        ).toMatch(/^RF-/);
        await handle.signal(endSignal);
        expect(await handle.result()).toMatchObject({
          status: 'closed',
          closedReason: 'ended',
          approvals: [expect.objectContaining({ status: 'approved' })],
        });
        await recordHistory(t.env.client, handle.workflowId, 'refund-approval');
      },
      { overrides: { maxCachedWorkflows: 0 } },
    );
    expect(await refundRows()).toHaveLength(1);
  });

  test('reject: nothing runs, the customer is told, the trail records it', async () => {
    await withBob(REQUEST, async (handle) => {
      await requestRefund(handle);
      const outcome = await handle.executeUpdate(
        decideApprovalUpdate,
        decide({ approvalId: APPROVAL, decision: 'reject', by: 'sam.supervisor', note: 'outside the return window' }),
      );
      expect(outcome.approval).toMatchObject({ status: 'rejected', decidedBy: 'sam.supervisor' });
      expect(outcome.text).toMatch(/could not approve it, so no money was refunded/);
      expect((await handle.query(historyQuery)).at(-1)).toMatchObject({ role: 'assistant', content: outcome.text });
      expect((await handle.query(stateQuery)).trail.at(-1)).toMatchObject({
        kind: 'approval',
        event: 'rejected',
        by: 'sam.supervisor',
      });
      expect(await pendingAttribute(handle)).toBe(0);
    });
    expect(await refundRows()).toEqual([]);
  });

  test('approved twice (concurrently, then again): one refund, the extra decisions refused', async () => {
    await withBob(REQUEST, async (handle) => {
      await requestRefund(handle);
      const a = decide({ approvalId: APPROVAL, decision: 'approve', by: 'sam' });
      const b = decide({ approvalId: APPROVAL, decision: 'approve', by: 'kim' });
      // Both pass the validator (the approval is pending when each arrives); the gate decides.
      const first = await handle.startUpdate(decideApprovalUpdate, {
        ...a,
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      });
      const second = await handle.startUpdate(decideApprovalUpdate, {
        ...b,
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      });
      const outcomes = await Promise.allSettled([first.result(), second.result()]);
      expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
      const refused = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected')!;
      expect(await rejection(Promise.reject(refused.reason))).toMatch(
        /^approval apr-1-1-0 was already decided: approved by (sam|kim) at /,
      );
      expect(await rejection(handle.executeUpdate(decideApprovalUpdate, a))).toMatch(
        /approval apr-1-1-0 was already decided: approved by/,
      );
      const state = await handle.query(stateQuery);
      expect(state.trail.filter((e) => e.kind === 'approval' && e.event === 'approved')).toHaveLength(1);
    });
    expect(await refundRows()).toHaveLength(1);
  });

  test('the worker dies between the refund commit and its report: the retry replays the commit, one refund', async () => {
    const real = createToolRunner(t.shop.store).runTool;
    const attempts: ToolRunResult[] = [];
    await withBob(
      REQUEST,
      async (handle) => {
        await requestRefund(handle);
        const outcome = await handle.executeUpdate(
          decideApprovalUpdate,
          decide({ approvalId: APPROVAL, decision: 'approve', by: 'sam' }),
        );
        expect(outcome.approval.refundId).toMatch(/^RF-/);
        expect(attempts.map((r) => (r.ok ? (r.replayed ? 'replayed' : 'committed') : r.code))).toEqual([
          'committed',
          'replayed',
        ]);
        expect(attempts[1]).toMatchObject({ ok: true, data: { refund_id: outcome.approval.refundId } });
      },
      {
        // As test/helpers/faults.ts killAfterCommit, in-process: the first attempt commits, then its worker "dies" before reporting.
        runTool: async (input) => {
          const result = await real(input);
          if (input.approval) {
            attempts.push(result);
            if (attempts.length === 1)
              throw ApplicationFailure.retryable('worker died after the refund committed', 'Test.WorkerDied');
          }
          return result;
        },
      },
    );
    expect(await refundRows()).toHaveLength(1);
    expect((await t.shop.store.counts()).tool_calls).toBe(1);
  });

  test('bad decisions get one clear line and change nothing', async () => {
    await withBob(
      REQUEST,
      async (handle) => {
        await requestRefund(handle);
        const before = await handle.query(stateQuery);
        const historyBefore = await handle.query(historyQuery);
        const bad: Array<[unknown, RegExp]> = [
          [
            { approvalId: 'apr-9-9-9', decision: 'approve', by: 'sam' },
            /^there is no approval apr-9-9-9 in this conversation$/,
          ],
          [{ approvalId: APPROVAL, decision: 'approve', by: '   ' }, /^by: `by` is empty: say who decides$/],
          [
            { approvalId: APPROVAL, decision: 'approve', by: 'mallory' },
            /^mallory may not decide refunds; approvers: sam, kim$/,
          ],
          [
            { approvalId: APPROVAL, decision: 'approve', by: 'bob' },
            /^bob is the customer of this conversation and cannot decide their own refund$/,
          ],
          [{ approvalId: APPROVAL, decision: 'maybe', by: 'sam' }, /decision must be 'approve' or 'reject'/],
          [{ approvalId: APPROVAL, decision: 'approve', by: 'sam', extra: 1 }, /Unrecognized key/],
          [
            { approvalId: APPROVAL, decision: 'approve', by: 'sam', note: 'n'.repeat(501) },
            /a note is at most 500 characters/,
          ],
          [null, /a decision is \{ approvalId/],
        ];
        for (const [arg, error] of bad)
          expect([arg, await rejection(handle.executeUpdate(decideApprovalUpdate, { args: [arg] } as never))]).toEqual([
            arg,
            expect.stringMatching(error),
          ]);
        expect(await handle.query(stateQuery)).toEqual(before);
        expect(await handle.query(historyQuery)).toEqual(historyBefore);
        // The right person still can.
        expect(
          (
            await handle.executeUpdate(
              decideApprovalUpdate,
              decide({ approvalId: APPROVAL, decision: 'reject', by: 'kim' }),
            )
          ).approval.status,
        ).toBe('rejected');
      },
      { input: { policy: { approvers: ['sam', 'kim'] } } },
    );
    expect(await refundRows()).toEqual([]);
  });
});

describe('the deadline, and what an approval survives', () => {
  test('not decided in 24 h: declined on a durable timer, the customer told; then the idle timer closes the conversation', async () => {
    await withBob(REQUEST, async (handle) => {
      await requestRefund(handle);
      await t.env.sleep('23 hours');
      expect((await handle.query(stateQuery)).approvals[0]).toMatchObject({ status: 'pending' });
      await t.env.sleep('61 minutes');
      const state = await handle.query(stateQuery);
      expect(state.status).toBe('open');
      expect(state.approvals[0]).toMatchObject({ status: 'expired', decidedBy: 'deadline' });
      expect(state.trail.at(-1)).toMatchObject({ kind: 'approval', event: 'expired', by: 'deadline' });
      expect((await handle.query(historyQuery)).at(-1)).toMatchObject({
        role: 'assistant',
        agent: 'billing',
        content: expect.stringContaining('could not be reviewed in time and was declined'),
      });
      expect(await pendingAttribute(handle)).toBe(0);
      expect(
        await rejection(
          handle.executeUpdate(decideApprovalUpdate, decide({ approvalId: APPROVAL, decision: 'approve', by: 'sam' })),
        ),
      ).toMatch(/was already decided: expired by deadline/);
      expect(await handle.result()).toMatchObject({ status: 'closed', closedReason: 'idle' });
    });
    expect(await refundRows()).toEqual([]);
  });

  test('with the escalate policy the deadline escalates: still decidable, still keeps the conversation open', async () => {
    await withBob(
      REQUEST,
      async (handle) => {
        await requestRefund(handle);
        await t.env.sleep('2 hours');
        const state = await handle.query(stateQuery);
        expect(state.approvals[0]).toMatchObject({ status: 'escalated', escalatedAt: expect.any(String) });
        expect(state.trail.at(-1)).toMatchObject({ kind: 'approval', event: 'escalated' });
        await t.env.sleep('3 hours'); // far past the 30-minute idle timer
        expect((await handle.query(stateQuery)).status).toBe('open');
        expect(await pendingAttribute(handle)).toBe(1);
        expect(
          (
            await handle.executeUpdate(
              decideApprovalUpdate,
              decide({ approvalId: APPROVAL, decision: 'approve', by: 'lead' }),
            )
          ).approval.refundId,
        ).toMatch(/^RF-/);
      },
      { input: { policy: { approvalTimeoutMs: 60 * 60 * 1000, onApprovalTimeout: 'escalate' } } },
    );
    expect(await refundRows()).toHaveLength(1);
  });

  test('a decision just before the deadline wins; the deadline then does nothing', async () => {
    await withBob(
      REQUEST,
      async (handle) => {
        await requestRefund(handle);
        await t.env.sleep('59 minutes');
        expect(
          (
            await handle.executeUpdate(
              decideApprovalUpdate,
              decide({ approvalId: APPROVAL, decision: 'approve', by: 'sam' }),
            )
          ).approval.status,
        ).toBe('approved');
        await t.env.sleep('2 minutes');
        const state = await handle.query(stateQuery);
        expect(state.approvals[0]).toMatchObject({ status: 'approved' });
        expect(
          state.trail.filter((e) => e.kind === 'approval').map((e) => (e.kind === 'approval' ? e.event : '')),
        ).toEqual(['requested', 'approved']);
      },
      { input: { policy: { approvalTimeoutMs: 60 * 60 * 1000 } } },
    );
    expect(await refundRows()).toHaveLength(1);
  });

  test('idle and rollback with an approval pending: the conversation stays open, the approval stays, and can be approved', async () => {
    await withBob(REQUEST, async (handle) => {
      await requestRefund(handle);
      await handle.signal(rollbackSignal, { reason: 'customer asked for the front desk' });
      await t.env.sleep('3 hours');
      const state = await handle.query(stateQuery);
      expect(state).toMatchObject({ status: 'open', currentAgent: 'receptionist' });
      expect(state.approvals[0]).toMatchObject({ id: APPROVAL, status: 'pending' });
      const outcome = await handle.executeUpdate(
        decideApprovalUpdate,
        decide({ approvalId: APPROVAL, decision: 'approve', by: 'sam' }),
      );
      expect(outcome.approval.refundId).toMatch(/^RF-/);
      // The refund is billing's, whoever has the conversation now.
      expect((await handle.query(historyQuery)).at(-1)).toMatchObject({ role: 'assistant', agent: 'billing' });
    });
    expect(await refundRows()).toHaveLength(1);
  });

  test('`end` with an approval pending: no more customer messages, but the decision still applies, then the run completes', async () => {
    await withBob(REQUEST, async (handle) => {
      await requestRefund(handle);
      await handle.signal(endSignal);
      expect(await rejection(handle.executeUpdate(sendMessageUpdate, send('hello?')))).toBe(
        'this conversation is closed; start a new one',
      );
      expect(await handle.query(stateQuery)).toMatchObject({
        status: 'closed',
        closedReason: 'ended',
        approvals: [expect.objectContaining({ status: 'pending' })],
      });
      expect((await handle.describe()).status.name).toBe('RUNNING');
      const outcome = await handle.executeUpdate(
        decideApprovalUpdate,
        decide({ approvalId: APPROVAL, decision: 'approve', by: 'sam' }),
      );
      expect(outcome.approval.refundId).toMatch(/^RF-/);
      expect(await handle.result()).toMatchObject({
        status: 'closed',
        closedReason: 'ended',
        approvals: [expect.objectContaining({ status: 'approved' })],
      });
    });
    expect(await refundRows()).toHaveLength(1);
  });

  test('continue-as-new with an approval pending keeps it and its deadline', async () => {
    const steps: ScriptStep[] = [...REQUEST];
    for (let i = 1; i <= 4; i++) steps.push({ agent: 'billing', respond: reply(`answer ${i}`) });
    await withBob(
      steps,
      async (handle) => {
        const firstRun = (await handle.describe()).runId;
        await requestRefund(handle);
        const before = (await handle.query(stateQuery)).approvals[0]!;
        for (let i = 1; i <= 4; i++) await handle.executeUpdate(sendMessageUpdate, send(`question ${i}`));
        const latest = t.env.client.workflow.getHandle(handle.workflowId);
        expect((await latest.describe()).runId).not.toBe(firstRun);
        const state = await latest.query(stateQuery);
        expect(state.approvals).toEqual([before]);
        expect(state.policy).toMatchObject({ approvalTimeoutMs: 2 * 60 * 60 * 1000 });
        // The carried deadline still fires, in the new run.
        await t.env.sleep('2 hours');
        expect((await latest.query(stateQuery)).approvals[0]).toMatchObject({ status: 'expired' });
      },
      { input: { limits: { continueAsNewAfterEvents: 20 }, policy: { approvalTimeoutMs: 2 * 60 * 60 * 1000 } } },
    );
  });
});
