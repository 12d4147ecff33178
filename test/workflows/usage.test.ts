/**
 * Tokens and cost in a running conversation (time-skipping server, strict scripted model whose
 * steps report usage): the state sums every step per agent and in all, across continue-as-new,
 * each turn's model-step events carry their step's usage, and the memo `list` reads follows.
 */
import { conversation } from '../../workflows';
import { USAGE_MEMO, sendMessageUpdate, stateQuery, type TurnEvent } from '../../workflows/messages';
import type { ModelStepResult } from '../../contract/transcript';
import type { StepUsage } from '../../contract/usage';
import { reply, scriptedModel, toolCalls, transfer, type ScriptStep } from '../helpers/scripted-model';
import { runWithWorker, send, uniqueTaskQueue, useWorkflowTestContext } from '../helpers/temporal-env';

const t = useWorkflowTestContext();

/** A step's answer with the usage a real endpoint would report; priced only when `costUsd` is given. */
function priced(result: ModelStepResult, inputTokens: number, outputTokens: number, costUsd?: number): ModelStepResult {
  const usage: StepUsage = {
    model: 'gpt-4.1-mini',
    inputTokens,
    outputTokens,
    cachedInputTokens: Math.floor(inputTokens / 4),
    ...(costUsd !== undefined && { costUsd }),
  };
  return { ...result, usage };
}

test('the sums equal the steps, per agent, across continue-as-new; an unpriced step makes the cost unknown', async () => {
  const script: ScriptStep[] = [
    { agent: 'receptionist', respond: priced(transfer('order', 'status'), 100, 10, 0.001) },
    { agent: 'order', respond: priced(toolCalls(['get_order_status', { order_id: '12345' }]), 200, 20, 0.002) },
    { agent: 'order', respond: priced(reply('answer 1'), 300, 30, 0.003) },
  ];
  for (let i = 2; i <= 6; i++)
    script.push({ agent: 'order', respond: priced(reply(`answer ${i}`), 400 + i, 40, 0.004) });
  // The last step's model has no price.
  script.push({ agent: 'order', respond: priced(reply('answer 7'), 500, 50) });
  const model = scriptedModel(script);
  const taskQueue = uniqueTaskQueue();
  await runWithWorker(
    t.env,
    { bundle: t.bundle, taskQueue, callModel: model.callModel, store: t.shop.store },
    async () => {
      const handle = await t.env.client.workflow.start(conversation, {
        taskQueue,
        workflowId: `c-${taskQueue}`,
        args: [{ customerId: 'alice', limits: { continueAsNewAfterEvents: 20 } }],
      });
      const events: TurnEvent[] = [];
      for (let i = 1; i <= 6; i++)
        events.push(...(await handle.executeUpdate(sendMessageUpdate, send(`question ${i}`))).events);
      const latest = t.env.client.workflow.getHandle(handle.workflowId);
      expect((await latest.describe()).runId).not.toBe(handle.firstExecutionRunId); // continued-as-new at least once

      // The steps as the turns reported them, against the state's sums.
      const steps = events.flatMap((e) => (e.type === 'model_step' && e.usage ? [{ agent: e.agent, ...e.usage }] : []));
      expect(steps).toHaveLength(8);
      const sum = (agent?: string) => {
        const mine = steps.filter((s) => agent === undefined || s.agent === agent);
        return {
          steps: mine.length,
          inputTokens: mine.reduce((n, s) => n + s.inputTokens, 0),
          outputTokens: mine.reduce((n, s) => n + s.outputTokens, 0),
          cachedInputTokens: mine.reduce((n, s) => n + s.cachedInputTokens, 0),
          unpricedSteps: 0,
          estimatedSteps: 0,
          costUsd: expect.closeTo(
            mine.reduce((n, s) => n + (s.costUsd ?? 0), 0),
            10,
          ),
        };
      };
      let state = await latest.query(stateQuery);
      expect(state.usage).toEqual({
        total: sum(),
        byAgent: { receptionist: sum('receptionist'), order: sum('order') },
      });
      expect(state.usage!.total.inputTokens).toBe(100 + 200 + 300 + (402 + 403 + 404 + 405 + 406));

      // One more turn whose model has no price: tokens still add up, the cost is now unknown.
      await latest.executeUpdate(sendMessageUpdate, send('question 7'));
      state = await latest.query(stateQuery);
      expect(state.usage!.total).toMatchObject({ steps: 9, unpricedSteps: 1, inputTokens: sum().inputTokens + 500 });
      const memo = (await latest.describe()).memo?.[USAGE_MEMO];
      expect(memo).toEqual({
        steps: 9,
        inputTokens: state.usage!.total.inputTokens,
        outputTokens: state.usage!.total.outputTokens,
        cachedInputTokens: state.usage!.total.cachedInputTokens,
        costUsd: null,
        estimated: false,
      });
    },
  );
  model.assertDone();
});
