/**
 * The conversation workflow's rules, each in the time-skipping environment with a strict scripted
 * model: handoff legality, one tool reply per call, the message validator, serialised messages,
 * rollback (idle, mid model step, mid tool call, already at the receptionist), guards, model
 * failure, the idle timer, `end`, and continue-as-new carrying the state.
 */
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowUpdateStage } from '@temporalio/client';
import { conversation } from '../../workflows';
import { CANNED } from '../../workflows/conversation';
import {
  endSignal,
  historyQuery,
  rollbackSignal,
  sendMessageUpdate,
  stateQuery,
  type ConversationInput,
  WORKFLOW_TASK_TIMEOUT_MS,
} from '../../workflows/messages';
import { sendMessage, startConversation } from '../../client/conversations';
import type { ToolRunInput } from '../../contract/transcript';
import { createToolRunner } from '../../activities/tools';
import { requestRollback } from '../../client/rollback';
import { gate, reply, scriptedModel, toolCalls, transfer, type ScriptStep } from '../helpers/scripted-model';
import { recordHistory } from '../helpers/histories';
import {
  TEST_EXECUTION,
  rejection,
  finishLeftover,
  runWithWorker,
  send,
  uniqueTaskQueue,
  useWorkflowTestContext,
} from '../helpers/temporal-env';

const t = useWorkflowTestContext();

/** Start a conversation for alice on a fresh task queue and run `body` with a worker serving it. */
async function withConversation<T>(
  script: ScriptStep[],
  body: (
    handle: Awaited<ReturnType<typeof t.env.client.workflow.start<typeof conversation>>>,
    model: ReturnType<typeof scriptedModel>,
  ) => Promise<T>,
  opts: {
    input?: Partial<ConversationInput>;
    runTool?: (input: ToolRunInput) => ReturnType<ReturnType<typeof createToolRunner>['runTool']>;
    /** Recorded as this release's history under this name, when recording (test/helpers/histories.ts). */
    record?: string;
  } = {},
): Promise<T> {
  const model = scriptedModel(script);
  const taskQueue = uniqueTaskQueue();
  const result = await runWithWorker(
    t.env,
    { bundle: t.bundle, taskQueue, callModel: model.callModel, store: t.shop.store, runTool: opts.runTool },
    async () => {
      const handle = await t.env.client.workflow.start(conversation, {
        taskQueue,
        workflowId: `c-${taskQueue}`,
        args: [{ customerId: 'alice', ...opts.input }],
      });
      const out = await body(handle, model);
      if (opts.record) await recordHistory(t.env.client, handle.workflowId, opts.record);
      await finishLeftover(t.env, handle.workflowId);
      return out;
    },
  );
  model.assertDone();
  return result;
}

describe('handoffs', () => {
  test('a handoff the agent may not make goes back to the model as a tool error and is recorded', async () => {
    await withConversation(
      [
        { agent: 'receptionist', respond: transfer('tech', 'API question') },
        { agent: 'tech', respond: transfer('billing', 'wants a refund') },
        {
          agent: 'tech',
          check: (input) => {
            const last = input.messages[input.messages.length - 1];
            expect(last).toMatchObject({ role: 'tool', name: 'transfer_to_billing' });
            expect(JSON.parse((last as { content: string }).content)).toMatchObject({ ok: false, code: 'not_allowed' });
          },
          respond: transfer('receptionist', 'Not a technical question'),
        },
        { agent: 'receptionist', respond: transfer('sales', 'upsell') },
        { agent: 'receptionist', respond: reply('How can I help?') },
      ],
      async (handle) => {
        const answer = await handle.executeUpdate(sendMessageUpdate, send('My API returns 500'));
        expect(answer.agent).toBe('receptionist');
        const state = await handle.query(stateQuery);
        expect(state.trail.map((t) => `${t.kind}:${'to' in t ? t.to : ''}`)).toEqual([
          'handoff:tech',
          'handoff_refused:billing',
          'handoff:receptionist',
          'handoff_refused:sales',
        ]);
        expect(state.trail[3]).toMatchObject({ why: expect.stringContaining('no agent named sales') });
        expect(state.statistics.path).toBe('receptionist -> tech -> receptionist');
      },
    );
  });

  test('a handoff without a reason is refused', async () => {
    await withConversation(
      [
        { agent: 'receptionist', respond: toolCalls(['transfer_to_order', {}]) },
        { agent: 'receptionist', respond: reply('Could you tell me more?') },
      ],
      async (handle) => {
        await handle.executeUpdate(sendMessageUpdate, send('order question'));
        const state = await handle.query(stateQuery);
        expect(state.currentAgent).toBe('receptionist');
        expect(state.trail).toEqual([
          expect.objectContaining({ kind: 'handoff_refused', to: 'order', why: expect.stringContaining('reason') }),
        ]);
      },
    );
  });

  test('first allowed handoff wins; every other call in the response still gets exactly one tool reply, unrun', async () => {
    await withConversation(
      [
        {
          agent: 'receptionist',
          respond: toolCalls(
            ['transfer_to_billing', { reason: 'refund' }],
            ['transfer_to_order', { reason: 'status' }],
            ['get_order_status', { order_id: '12345' }],
          ),
        },
        {
          agent: 'billing',
          check: (input) => {
            const assistant = input.messages.find((m) => m.role === 'assistant');
            const ids = assistant?.role === 'assistant' ? assistant.toolCalls!.map((c) => c.id) : [];
            const answered = input.messages.flatMap((m) => (m.role === 'tool' ? [m.toolCallId] : []));
            expect(answered).toEqual(ids);
          },
          respond: reply('Billing here.'),
        },
      ],
      async (handle) => {
        const answer = await handle.executeUpdate(sendMessageUpdate, send('refund and status please'));
        expect(answer.agent).toBe('billing');
        expect(
          answer.events.filter((e) => e.type === 'tool_skipped').map((e) => (e.type === 'tool_skipped' ? e.tool : '')),
        ).toEqual(['transfer_to_order', 'get_order_status']);
        expect((await handle.query(stateQuery)).statistics.totalHandoffs).toBe(1);
      },
      { record: 'handoff-first-wins' },
    );
  });

  test("a tool outside the current agent's list is refused in the workflow and never runs", async () => {
    const ran: string[] = [];
    await withConversation(
      [
        {
          agent: 'receptionist',
          respond: toolCalls(['process_refund', { order_id: '12345', amount: 99.99, reason: 'customer request' }]),
        },
        { agent: 'receptionist', respond: reply('Let me transfer you.') },
      ],
      async (handle) => {
        const answer = await handle.executeUpdate(sendMessageUpdate, send('refund 12345'));
        expect(answer.events).toContainEqual(
          expect.objectContaining({
            type: 'tool_call',
            tool: 'process_refund',
            result: expect.objectContaining({ ok: false, code: 'not_allowed' }),
          }),
        );
      },
      { runTool: async (input) => (ran.push(input.tool), { ok: true, data: {} }) },
    );
    expect(ran).toEqual([]);
    expect(await t.shop.store.listRefunds('12345')).toHaveLength(0);
  });

  test('tool calls carry the bound customer and a key the workflow builds from turn, step and call index', async () => {
    const inputs: ToolRunInput[] = [];
    const real = createToolRunner(t.shop.store).runTool;
    await withConversation(
      [
        { agent: 'receptionist', respond: transfer('order', 'status') },
        {
          agent: 'order',
          respond: toolCalls(['get_order_status', { order_id: '24680' }], ['track_shipment', { order_id: '12345' }]),
        },
        { agent: 'order', respond: reply('done') },
      ],
      async (handle) => {
        const answer = await handle.executeUpdate(sendMessageUpdate, send('status of 24680?'));
        // bob's order, in alice's conversation: not found, because the customer is bound by the workflow.
        expect(answer.events).toContainEqual(
          expect.objectContaining({
            tool: 'get_order_status',
            result: expect.objectContaining({ ok: false, code: 'not_found' }),
          }),
        );
        expect(inputs.map((i) => [i.customerId, i.idempotencyKey])).toEqual([
          ['alice', `${handle.workflowId}:1:1:0`],
          ['alice', `${handle.workflowId}:1:1:1`],
        ]);
      },
      { runTool: async (input) => (inputs.push(input), real(input)) },
    );
  });
});

describe('the shop rules hold whatever the model says', () => {
  test("bob's order in alice's conversation, $150 on a $99.99 order, a second full refund, a smuggled customer id: nothing changes", async () => {
    const refundsBefore = (await t.shop.store.counts()).refunds;
    const lastResult = (input: { messages: { role: string; content: string | null }[] }) =>
      JSON.parse(input.messages.at(-1)!.content!) as { ok: boolean; code?: string };
    await withConversation(
      [
        { agent: 'receptionist', respond: transfer('billing', 'refunds') },
        {
          agent: 'billing',
          respond: toolCalls(['process_refund', { order_id: '24680', amount: 59, reason: 'customer request' }]),
        },
        {
          agent: 'billing',
          check: (i) => expect(lastResult(i)).toMatchObject({ ok: false, code: 'not_found' }),
          respond: toolCalls([
            'process_refund',
            { order_id: '24680', amount: 59, reason: 'customer request', customer_id: 'bob' },
          ]),
        },
        {
          agent: 'billing',
          check: (i) => expect(lastResult(i)).toMatchObject({ ok: false, code: 'not_found' }),
          respond: toolCalls(['process_refund', { order_id: '12345', amount: 150, reason: 'customer request' }]),
        },
        {
          agent: 'billing',
          check: (i) => expect(lastResult(i)).toMatchObject({ ok: false, code: 'over_limit' }),
          respond: toolCalls(['process_refund', { order_id: '12345', amount: 99.99, reason: 'customer request' }]),
        },
        {
          agent: 'billing',
          check: (i) => expect(lastResult(i)).toMatchObject({ ok: true }),
          respond: toolCalls(['process_refund', { order_id: '12345', amount: 99.99, reason: 'customer request' }]),
        },
        {
          agent: 'billing',
          check: (i) => expect(lastResult(i)).toMatchObject({ ok: false, code: 'invalid_state' }),
          respond: reply('Refunded $99.99 once.'),
        },
      ],
      async (handle) => {
        const answer = await handle.executeUpdate(sendMessageUpdate, send("refund everything, also bob's order"));
        expect(answer.text).toBe('Refunded $99.99 once.');
      },
    );
    expect(await t.shop.store.listRefunds('24680')).toEqual([]);
    expect(await t.shop.store.listRefunds('12345')).toEqual([expect.objectContaining({ amountCents: 9999 })]);
    expect((await t.shop.store.counts()).refunds).toBe(refundsBefore + 1);
  });

  test('arguments that are not JSON, or fail the schema, go back to the model, which can correct itself', async () => {
    await withConversation(
      [
        { agent: 'receptionist', respond: transfer('order', 'status') },
        { agent: 'order', respond: toolCalls(['get_order_status', '{"order_id": 12345']) },
        {
          agent: 'order',
          check: (i) => expect(i.messages.at(-1)!.content).toContain('invalid_arguments'),
          respond: toolCalls(['get_order_status', { order: '12345' }]),
        },
        {
          agent: 'order',
          check: (i) => expect(i.messages.at(-1)!.content).toContain('invalid_arguments'),
          respond: toolCalls(['get_order_status', { order_id: '12345' }]),
        },
        {
          agent: 'order',
          check: (i) => expect(i.messages.at(-1)!.content).toContain('TRK-98765'),
          respond: reply('Shipped, tracking TRK-98765.'),
        },
      ],
      async (handle) => {
        const answer = await handle.executeUpdate(sendMessageUpdate, send('status of 12345?'));
        expect(answer.text).toBe('Shipped, tracking TRK-98765.');
        const results = answer.events.flatMap((e) =>
          e.type === 'tool_call' ? [e.result.ok ? 'ok' : e.result.code] : [],
        );
        expect(results).toEqual(['invalid_arguments', 'invalid_arguments', 'ok']);
      },
    );
  });
});

describe('messages', () => {
  test('the validator rejects empty, over-long and malformed messages with a clear error and writes nothing', async () => {
    await withConversation([{ agent: 'receptionist', respond: reply('Hello! How can I help?') }], async (handle) => {
      expect(await rejection(handle.executeUpdate(sendMessageUpdate, send('   ')))).toBe('the message is empty');
      expect(await rejection(handle.executeUpdate(sendMessageUpdate, send('x'.repeat(8001))))).toBe(
        'the message is 8001 characters long; the limit is 8000',
      );
      expect(await rejection(handle.executeUpdate(sendMessageUpdate, { args: [{ text: 42 }] } as never))).toMatch(
        /string "text"/,
      );
      expect(await rejection(handle.executeUpdate(sendMessageUpdate, { args: [null] } as never))).toMatch(
        /string "text"/,
      );
      expect(await handle.query(historyQuery)).toEqual([]);
      expect((await handle.query(stateQuery)).turn).toBe(0);
      // The conversation is unharmed.
      expect((await handle.executeUpdate(sendMessageUpdate, send('hi'))).text).toBe('Hello! How can I help?');
    });
  });

  test('text is cleaned at the door: a lone surrogate never reaches history', async () => {
    await withConversation([{ agent: 'receptionist', respond: reply('ok') }], async (handle) => {
      await handle.executeUpdate(sendMessageUpdate, send('  hello \uD800 there  '));
      expect((await handle.query(historyQuery))[0]).toEqual({ role: 'user', content: 'hello \uFFFD there' });
    });
  });

  test('concurrent messages are handled one at a time, in arrival order, none lost', async () => {
    const hold = gate();
    await withConversation(
      [
        { agent: 'receptionist', respond: async () => (await hold.promise, reply('first answer')) },
        {
          agent: 'receptionist',
          check: (i) => expect(i.messages.at(-1)).toEqual({ role: 'user', content: 'second' }),
          respond: reply('second answer'),
        },
        {
          agent: 'receptionist',
          check: (i) => expect(i.messages.at(-1)).toEqual({ role: 'user', content: 'third' }),
          respond: reply('third answer'),
        },
      ],
      async (handle, model) => {
        const first = await handle.startUpdate(sendMessageUpdate, {
          ...send('first'),
          waitForStage: WorkflowUpdateStage.ACCEPTED,
        });
        await model.reached(0);
        const second = await handle.startUpdate(sendMessageUpdate, {
          ...send('second'),
          waitForStage: WorkflowUpdateStage.ACCEPTED,
        });
        const third = await handle.startUpdate(sendMessageUpdate, {
          ...send('third'),
          waitForStage: WorkflowUpdateStage.ACCEPTED,
        });
        hold.open();
        const answers = await Promise.all([first.result(), second.result(), third.result()]);
        expect(answers.map((a) => [a.turn, a.text])).toEqual([
          [1, 'first answer'],
          [2, 'second answer'],
          [3, 'third answer'],
        ]);
        const history = await handle.query(historyQuery);
        expect(history.map((m) => m.content)).toEqual([
          'first',
          'first answer',
          'second',
          'second answer',
          'third',
          'third answer',
        ]);
      },
    );
  });

  test('a permanent model failure gets an apology and the conversation stays usable', async () => {
    await withConversation(
      [
        {
          agent: 'receptionist',
          respond: async () => {
            throw ApplicationFailure.create({
              type: 'ModelCall.Unauthorized',
              message: 'check OPENAI_API_KEY',
              nonRetryable: true,
            });
          },
        },
        { agent: 'receptionist', respond: reply('Back again. How can I help?') },
      ],
      async (handle) => {
        const answer = await handle.executeUpdate(sendMessageUpdate, send('hello'));
        expect(answer.text).toBe(CANNED.modelFailed);
        expect(answer.events).toContainEqual(
          expect.objectContaining({
            type: 'model_step',
            outcome: 'failed',
            error: expect.stringContaining('ModelCall.Unauthorized'),
          }),
        );
        expect((await handle.executeUpdate(sendMessageUpdate, send('hello again'))).text).toBe(
          'Back again. How can I help?',
        );
        expect((await handle.query(stateQuery)).status).toBe('open');
      },
      { record: 'model-failure' },
    );
  });

  test('a refusal on content grounds is answered politely and runs no tools', async () => {
    await withConversation(
      [{ agent: 'receptionist', respond: { kind: 'refusal', text: 'I cannot help with that.' } }],
      async (handle) => {
        const answer = await handle.executeUpdate(sendMessageUpdate, send('something bad'));
        expect(answer).toMatchObject({ agent: 'receptionist', text: 'I cannot help with that.' });
        expect(answer.events).toEqual([{ type: 'model_step', agent: 'receptionist', outcome: 'refusal' }]);
      },
    );
  });
});

describe('rollback', () => {
  test('when idle: control returns to the receptionist, history is kept, the trail records it', async () => {
    await withConversation(
      [
        { agent: 'receptionist', respond: transfer('order', 'status') },
        { agent: 'order', respond: reply('Which order?') },
        {
          agent: 'receptionist',
          check: (input) => {
            expect(input.messages.map((m) => m.role)).toEqual([
              'user',
              'assistant',
              'tool',
              'assistant',
              'event',
              'user',
            ]);
            expect(input.messages[4]).toEqual({
              role: 'event',
              content: 'Control was returned from order to receptionist: customer asked for the front desk',
            });
          },
          respond: reply('Front desk here.'),
        },
      ],
      async (handle) => {
        await handle.executeUpdate(sendMessageUpdate, send('where is my order'));
        await handle.signal(rollbackSignal, { reason: 'customer asked for the front desk' });
        const state = await handle.query(stateQuery);
        expect(state.currentAgent).toBe('receptionist');
        expect(state.trail.at(-1)).toMatchObject({
          kind: 'rollback',
          from: 'order',
          to: 'receptionist',
          reason: 'customer asked for the front desk',
          noop: false,
        });
        expect(state.statistics).toMatchObject({ rollbacks: 1, path: 'receptionist -> order -> receptionist' });
        expect((await handle.executeUpdate(sendMessageUpdate, send('hi'))).agent).toBe('receptionist');
      },
      { record: 'rollback-idle' },
    );
  });

  test('while already with the receptionist: a recorded no-op', async () => {
    await withConversation([], async (handle) => {
      await handle.signal(rollbackSignal, {});
      const state = await handle.query(stateQuery);
      expect(state.trail).toEqual([
        expect.objectContaining({
          kind: 'rollback',
          from: 'receptionist',
          to: 'receptionist',
          noop: true,
          reason: 'rollback requested',
        }),
      ]);
      expect(state.statistics).toMatchObject({ rollbacks: 1, path: 'receptionist' });
      expect(await handle.query(historyQuery)).toEqual([]);
    });
  });

  test('mid-turn, during a model step: the step is abandoned and the receptionist takes the next one', async () => {
    const hold = gate();
    await withConversation(
      [
        { agent: 'receptionist', respond: transfer('billing', 'refund') },
        {
          agent: 'billing',
          respond: async () => (
            await hold.promise,
            toolCalls(['process_refund', { order_id: '12345', amount: 99.99, reason: 'customer request' }])
          ),
        },
        { agent: 'receptionist', respond: reply('You are back at the front desk.') },
      ],
      async (handle, model) => {
        const pending = handle.executeUpdate(sendMessageUpdate, send('refund 12345'));
        await model.reached(1);
        const sent = Date.now();
        // As the desk's clients send it: the signal, then the interrupt row a local step watches for.
        await requestRollback(handle, 'operator override', t.shop.store.interrupts);
        const answer = await pending;
        // In `local` the step runs inside the workflow task: without the interrupt the signal would
        // wait for the task's heartbeat (8 s).
        if (TEST_EXECUTION === 'local') expect(Date.now() - sent).toBeLessThan(5_000);
        hold.open();
        expect(answer.agent).toBe('receptionist');
        expect(answer.events.map((e) => e.type)).toEqual([
          'model_step',
          'handoff',
          'model_step',
          'rollback',
          'model_step',
        ]);
        expect(answer.events[2]).toMatchObject({ agent: 'billing', outcome: 'interrupted' });
        expect((await handle.query(stateQuery)).statistics.path).toBe('receptionist -> billing -> receptionist');
      },
      { record: 'rollback-mid-model-step' },
    );
    expect(await t.shop.store.listRefunds('12345')).toHaveLength(0);
  });

  test('an interrupt row with no rollback behind it costs a local step one repeat, and nothing else', async () => {
    const hold = gate();
    await withConversation(
      [
        { agent: 'receptionist', respond: transfer('billing', 'refund') },
        { agent: 'billing', respond: async () => (await hold.promise, reply('never used')) },
        {
          agent: 'billing',
          check: (input) => expect(input.messages.at(-1)).toMatchObject({ role: 'tool', name: 'transfer_to_billing' }),
          respond: reply('Which order would you like refunded?'),
        },
      ],
      async (handle, model) => {
        const pending = handle.executeUpdate(sendMessageUpdate, send('I want a refund'));
        await model.reached(1);
        await t.shop.store.interrupts.add(handle.workflowId); // a row, but no signal
        const answer = await pending;
        hold.open();
        expect(answer).toMatchObject({ agent: 'billing', text: 'Which order would you like refunded?' });
        expect(answer.events.map((e) => e.type)).toEqual(['model_step', 'handoff', 'model_step']);
        const state = await handle.query(stateQuery);
        expect(state.statistics.rollbacks).toBe(0);
        expect(state.statistics.path).toBe('receptionist -> billing');
      },
      { input: { execution: 'local' } },
    );
  });

  test('mid-turn, during a tool call: the refund completes and stays on record, then the receptionist takes over', async () => {
    const hold = gate();
    const real = createToolRunner(t.shop.store).runTool;
    let toolStarted!: () => void;
    const started = new Promise<void>((r) => (toolStarted = r));
    await withConversation(
      [
        { agent: 'receptionist', respond: transfer('billing', 'refund') },
        {
          agent: 'billing',
          respond: toolCalls(
            ['process_refund', { order_id: '12345', amount: 99.99, reason: 'customer request' }],
            ['get_invoice', { order_id: '12345' }],
          ),
        },
        {
          agent: 'receptionist',
          check: (input) => {
            const tools = input.messages
              .filter((m) => m.role === 'tool')
              .map((m) => JSON.parse((m as { content: string }).content));
            expect(tools[1]).toMatchObject({ ok: true, data: { amount: 99.99 } }); // the refund's result is in the transcript
            expect(tools[2]).toMatchObject({ ok: false, message: expect.stringContaining('not run') }); // get_invoice was not run
          },
          respond: reply('Your refund went through; anything else?'),
        },
      ],
      async (handle) => {
        const pending = handle.executeUpdate(sendMessageUpdate, send('refund 12345'));
        await started;
        await handle.signal(rollbackSignal, { reason: 'operator override' });
        // A local tool call holds the workflow task: the signal reaches the workflow at the task's
        // next heartbeat (80 % of its 10 s timeout), as the README says of `local-tools` and `local`.
        if (TEST_EXECUTION !== 'activities') await new Promise((r) => setTimeout(r, 9_000));
        hold.open();
        const answer = await pending;
        expect(answer.agent).toBe('receptionist');
        expect(answer.events.map((e) => e.type)).toEqual([
          'model_step',
          'handoff',
          'model_step',
          'tool_call',
          'tool_skipped',
          'rollback',
          'model_step',
        ]);
      },
      {
        runTool: async (input) => {
          const result = await real(input);
          toolStarted();
          await hold.promise;
          return result;
        },
        record: 'rollback-mid-tool-call',
      },
    );
    expect(await t.shop.store.listRefunds('12345')).toEqual([expect.objectContaining({ amountCents: 9999 })]);
  });
});

describe('guards', () => {
  test('too many model steps in one turn end with a clear reply and a trail entry', async () => {
    const loop = { agent: 'order' as const, respond: toolCalls(['get_order_status', { order_id: '12345' }]) };
    await withConversation(
      [{ agent: 'receptionist', respond: transfer('order', 'status') }, loop, loop],
      async (handle) => {
        const answer = await handle.executeUpdate(sendMessageUpdate, send('status?'));
        expect(answer).toMatchObject({ agent: 'order', text: CANNED.steps });
        expect((await handle.query(stateQuery)).trail.at(-1)).toMatchObject({
          kind: 'guard',
          limit: 'steps',
          agent: 'order',
        });
        expect((await handle.query(stateQuery)).status).toBe('open');
      },
      { input: { limits: { maxStepsPerTurn: 3 } }, record: 'guard-steps' },
    );
  });

  test('ping-pong between two agents is stopped: A -> B -> A is allowed once, the same hop twice is not', async () => {
    await withConversation(
      [
        { agent: 'receptionist', respond: transfer('order', 'status') },
        { agent: 'order', respond: transfer('billing', 'refund') },
        { agent: 'billing', respond: transfer('order', 'details') },
        { agent: 'order', respond: transfer('billing', 'refund again') },
      ],
      async (handle) => {
        const answer = await handle.executeUpdate(sendMessageUpdate, send('help'));
        expect(answer).toMatchObject({ agent: 'order', text: CANNED.handoffs });
        const state = await handle.query(stateQuery);
        expect(state.trail.at(-1)).toMatchObject({ kind: 'guard', limit: 'ping_pong' });
        expect(state.statistics.path).toBe('receptionist -> order -> billing -> order');
      },
      { record: 'guard-ping-pong' },
    );
  });

  test('the per-turn handoff cap holds', async () => {
    await withConversation(
      [
        { agent: 'receptionist', respond: transfer('tech', 'a') },
        { agent: 'tech', respond: transfer('receptionist', 'b') },
        { agent: 'receptionist', respond: transfer('order', 'c') },
      ],
      async (handle) => {
        const answer = await handle.executeUpdate(sendMessageUpdate, send('help'));
        expect(answer.text).toBe(CANNED.handoffs);
        expect((await handle.query(stateQuery)).trail.at(-1)).toMatchObject({ kind: 'guard', limit: 'handoffs' });
      },
      { input: { limits: { maxHandoffsPerTurn: 2 } } },
    );
  });
});

describe('transcript', () => {
  test("archived as it outgrows its budget; every model step still sees exactly the workflow's transcript", async () => {
    const long = (i: number) => `question ${i}: ${'x'.repeat(7_000)}`;
    const steps: ScriptStep[] = [
      { agent: 'receptionist', respond: transfer('order', 'status') },
      { agent: 'order', respond: reply('answer 1') },
    ];
    for (let i = 2; i <= 5; i++) {
      steps.push(
        { agent: 'order', respond: toolCalls(['get_order_status', { order_id: '12345' }]) },
        {
          agent: 'order',
          // The step after a tool call carries only what is new: its transcript must still end
          // with this turn's question and the tool's result, and start with the archive note.
          check: (input) => {
            const users = input.messages.filter((m) => m.role === 'user');
            expect(users.at(-1)).toEqual({ role: 'user', content: long(i) });
            expect(input.messages.at(-1)).toMatchObject({ role: 'tool', name: 'get_order_status' });
            if (i >= 3)
              expect(input.messages[0]).toMatchObject({ role: 'event', content: expect.stringContaining('archived') });
          },
          respond: reply(`answer ${i}`),
        },
      );
    }
    await withConversation(
      steps,
      async (handle) => {
        for (let i = 1; i <= 5; i++) {
          expect((await handle.executeUpdate(sendMessageUpdate, send(long(i)))).text).toBe(`answer ${i}`);
        }
        const history = await handle.query(historyQuery);
        expect(history[0]).toMatchObject({ role: 'event', content: expect.stringContaining('archived') });
        expect(JSON.stringify(history).length).toBeLessThan(16 * 1024);
      },
      { input: { limits: { maxTranscriptBytes: 16 * 1024 } } },
    );
  });
});

describe('lifecycle', () => {
  test('an idle conversation closes itself after 30 minutes on a durable timer (time-skipped)', async () => {
    await withConversation(
      [{ agent: 'receptionist', respond: reply('Hello!') }],
      async (handle) => {
        await handle.executeUpdate(sendMessageUpdate, send('hi'));
        await t.env.sleep('29 minutes');
        expect((await handle.query(stateQuery)).status).toBe('open');
        // result() lets the test server skip the remaining minute instead of waiting for it.
        const final = await handle.result();
        expect(final).toMatchObject({ status: 'closed', closedReason: 'idle', turn: 1 });
      },
      { record: 'idle-close' },
    );
  });

  test('`end` closes at once; a turn in flight still gets its reply; later messages are rejected', async () => {
    const hold = gate();
    await withConversation(
      [{ agent: 'receptionist', respond: async () => (await hold.promise, reply('Goodbye!')) }],
      async (handle, model) => {
        const inFlight = handle.executeUpdate(sendMessageUpdate, send('bye'));
        await model.reached(0);
        await handle.signal(endSignal);
        expect(await rejection(handle.executeUpdate(sendMessageUpdate, send('one more thing')))).toBe(
          'this conversation is closed; start a new one',
        );
        hold.open();
        expect((await inFlight).text).toBe('Goodbye!');
        expect(await handle.result()).toMatchObject({ status: 'closed', closedReason: 'ended', turn: 1 });
        expect((await handle.query(historyQuery)).map((m) => m.content)).toEqual(['bye', 'Goodbye!']);
        // Once the workflow has completed, the server itself refuses further messages.
        await expect(handle.executeUpdate(sendMessageUpdate, send('hello?'))).rejects.toThrow();
      },
    );
  });

  test('a long conversation continues-as-new, carrying history, agent, trail and turn count', async () => {
    // A tool call in the carried transcript too: what the model step returns beyond it (a UI summary) must not ride along.
    const steps: ScriptStep[] = [
      { agent: 'receptionist', respond: transfer('order', 'status') },
      { agent: 'order', respond: toolCalls(['get_order_status', { order_id: '12345' }]) },
      { agent: 'order', respond: reply('answer 1') },
    ];
    for (let i = 2; i <= 6; i++) steps.push({ agent: 'order', respond: reply(`answer ${i}`) });
    await withConversation(
      steps,
      async (handle) => {
        const firstRun = (await handle.describe()).runId;
        for (let i = 1; i <= 6; i++)
          expect((await handle.executeUpdate(sendMessageUpdate, send(`question ${i}`))).text).toBe(`answer ${i}`);
        const latest = t.env.client.workflow.getHandle(handle.workflowId);
        const described = await latest.describe();
        expect(described.runId).not.toBe(firstRun);
        const state = await latest.query(stateQuery);
        expect(state).toMatchObject({ currentAgent: 'order', turn: 6, statistics: { path: 'receptionist -> order' } });
        const history = await latest.query(historyQuery);
        expect(history.filter((m) => m.role === 'user').map((m) => m.content)).toEqual(
          [1, 2, 3, 4, 5, 6].map((i) => `question ${i}`),
        );
      },
      { input: { limits: { continueAsNewAfterEvents: 20 } }, record: 'continue-as-new' },
    );
  });

  test("started by the desk's clients, a conversation has its mode's workflow task timeout, in every run", async () => {
    // 30 s in `activities` and `local-tools` (room for replays: worker/slots.ts), 10 s in `local`.
    const steps: ScriptStep[] = [{ agent: 'receptionist', respond: reply('answer 1') }];
    for (let i = 2; i <= 4; i++) steps.push({ agent: 'receptionist', respond: reply(`answer ${i}`) });
    const model = scriptedModel(steps);
    const taskQueue = uniqueTaskQueue();
    await runWithWorker(
      t.env,
      { bundle: t.bundle, taskQueue, callModel: model.callModel, store: t.shop.store },
      async () => {
        const input = { customerId: 'alice', execution: TEST_EXECUTION, limits: { continueAsNewAfterEvents: 20 } };
        const handle = await startConversation(t.env.client, input, { taskQueue });
        const timeoutOf = async () =>
          Number((await handle.describe()).raw.executionConfig?.defaultWorkflowTaskTimeout?.seconds ?? 0);
        const expected = WORKFLOW_TASK_TIMEOUT_MS[TEST_EXECUTION] / 1000;
        expect(expected).toBe(TEST_EXECUTION === 'local' ? 10 : 30);
        expect(await timeoutOf()).toBe(expected);
        const firstRun = (await handle.describe()).runId;
        for (let i = 1; i <= 4; i++) expect((await sendMessage(handle, `question ${i}`)).text).toBe(`answer ${i}`);
        expect((await handle.describe()).runId).not.toBe(firstRun);
        expect(await timeoutOf()).toBe(expected);
        await finishLeftover(t.env, handle.workflowId);
      },
    );
  });
});
