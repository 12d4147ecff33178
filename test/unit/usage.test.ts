/**
 * Tokens and cost: what a model step reads from the endpoint's `usage`, how it is priced (and
 * when it is not), how the conversation sums it per agent, what the price table accepts, and that
 * the offline model's counts arrive marked as estimates.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import { completionUsage, createModelStep, createOpenAIClient, normaliseCompletion } from '../../activities/model';
import { DEFAULT_PRICES_FILE, loadPriceTable } from '../../activities/prices';
import { DEFAULT_OFFLINE_MODEL } from '../../activities/model-config';
import { formatCost, formatCounts, type StepUsage } from '../../contract/usage';
import { startOfflineModel } from '../../offline-model';
import { checkConversationInput } from '../../workflows/schemas';
import { compactForCarry, initialState, recordUsage } from '../../workflows/state';

const PRICES = { 'gpt-4.1-mini': { inputPerMTok: 0.4, cachedInputPerMTok: 0.1, outputPerMTok: 1.6 } };

function answer(usage: unknown, model = 'gpt-4.1-mini-2025-04-14'): ChatCompletion {
  return {
    id: 'c',
    object: 'chat.completion',
    created: 0,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'Hi', refusal: null }, finish_reason: 'stop' }],
    usage,
  } as ChatCompletion;
}

describe('a model step reads usage', () => {
  it('takes prompt, completion and cached prompt tokens and prices them from the table', () => {
    const usage = completionUsage(
      answer({
        prompt_tokens: 1_000_000,
        completion_tokens: 500_000,
        prompt_tokens_details: { cached_tokens: 400_000 },
      }),
      { model: 'gpt-4.1-mini', prices: PRICES },
    );
    // 600k uncached at $0.40/M + 400k cached at $0.10/M + 500k out at $1.60/M
    expect(usage).toEqual({
      model: 'gpt-4.1-mini',
      inputTokens: 1_000_000,
      outputTokens: 500_000,
      cachedInputTokens: 400_000,
      costUsd: expect.closeTo(0.24 + 0.04 + 0.8, 10),
    });
  });

  it('prices by the model the endpoint answered as when the configured name has no price (a deployment alias)', () => {
    const usage = completionUsage(answer({ prompt_tokens: 1_000_000, completion_tokens: 0 }, 'gpt-4.1-mini'), {
      model: 'my-azure-deployment',
      prices: PRICES,
    });
    expect(usage?.costUsd).toBeCloseTo(0.4, 10);
  });

  it('gives an unknown model tokens but no cost, never a made-up one', () => {
    const usage = completionUsage(answer({ prompt_tokens: 12, completion_tokens: 3 }, 'llama3'), {
      model: 'llama3',
      prices: PRICES,
    });
    expect(usage).toEqual({ model: 'llama3', inputTokens: 12, outputTokens: 3, cachedInputTokens: 0 });
  });

  it('returns no usage when the endpoint sent none, and ignores nonsense counts', () => {
    expect(completionUsage(answer(undefined))).toBeUndefined();
    expect(completionUsage(answer({ prompt_tokens: -5, completion_tokens: 'many' }))).toMatchObject({
      inputTokens: 0,
      outputTokens: 0,
    });
  });

  it('puts the usage on the step result, and marks an estimate as such', () => {
    const result = normaliseCompletion(answer({ prompt_tokens: 8, completion_tokens: 2, estimated: true }), {
      model: 'gpt-4.1-mini',
      prices: PRICES,
    });
    expect(result).toMatchObject({
      kind: 'reply',
      text: 'Hi',
      usage: { inputTokens: 8, outputTokens: 2, estimated: true },
    });
  });
});

describe('the conversation sums usage per agent and in all', () => {
  const step = (over: Partial<StepUsage>): StepUsage => ({
    model: 'gpt-4.1-mini',
    inputTokens: 100,
    outputTokens: 10,
    cachedInputTokens: 0,
    costUsd: 0.001,
    ...over,
  });

  it('adds each step to its agent and to the total, and survives continue-as-new', () => {
    let state = initialState('alice', '2026-01-01T00:00:00.000Z');
    state = recordUsage(state, 'receptionist', step({}));
    state = recordUsage(state, 'billing', step({ inputTokens: 300, cachedInputTokens: 200, costUsd: 0.002 }));
    state = recordUsage(state, 'billing', step({ outputTokens: 40 }));
    expect(state.usage!.byAgent.billing).toMatchObject({
      steps: 2,
      inputTokens: 400,
      outputTokens: 50,
      cachedInputTokens: 200,
    });
    expect(state.usage!.total).toMatchObject({ steps: 3, inputTokens: 500, outputTokens: 60, unpricedSteps: 0 });
    expect(state.usage!.total.costUsd).toBeCloseTo(0.004, 10);
    expect(formatCost(state.usage!.total)).toBe('$0.004000');

    const carried = compactForCarry(state, 512 * 1024);
    const next = checkConversationInput({ customerId: 'alice', carried });
    expect(next.ok && next.value.carried?.usage).toEqual(state.usage);
  });

  it('shows the cost as unknown once any step had no price, and says when counts are estimates', () => {
    let state = initialState('alice', '2026-01-01T00:00:00.000Z');
    state = recordUsage(state, 'order', step({}));
    state = recordUsage(state, 'order', step({ costUsd: undefined, estimated: true }));
    expect(formatCost(state.usage!.total)).toBe('unknown');
    expect(formatCounts(state.usage!.total)).toBe('2 steps, tokens in 200 out 20 (estimated), cost unknown');
  });

  it('bounds what a broken server reports', () => {
    const state = recordUsage(initialState('alice', 'now'), 'tech', step({ inputTokens: 1e15, costUsd: Number.NaN }));
    expect(state.usage!.total.inputTokens).toBe(1e9);
    expect(state.usage!.total.costUsd).toBe(0);
  });

  it('accepts a carried state without usage (from a release before it) and refuses malformed usage', () => {
    const old = initialState('alice', 'now');
    expect(checkConversationInput({ customerId: 'alice', carried: old }).ok).toBe(true);
    const bad = { ...old, usage: { total: { steps: -1 }, byAgent: {} } };
    expect(checkConversationInput({ customerId: 'alice', carried: bad }).ok).toBe(false);
    const unknownAgent = recordUsage(old, 'order', step({}));
    const renamed = {
      ...unknownAgent,
      usage: { ...unknownAgent.usage!, byAgent: { sales: unknownAgent.usage!.total } },
    };
    expect(checkConversationInput({ customerId: 'alice', carried: renamed }).ok).toBe(false);
  });
});

describe('the price table', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'desk-prices-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is config/prices.json by default, pricing the offline model at nothing', () => {
    const { file, prices } = loadPriceTable({});
    expect(file).toBe(DEFAULT_PRICES_FILE);
    expect(prices[DEFAULT_OFFLINE_MODEL]).toEqual({ inputPerMTok: 0, outputPerMTok: 0 });
    expect(prices['gpt-4.1-mini']).toBeDefined();
  });

  it('is replaced by the file DESK_PRICES_FILE names', () => {
    const file = path.join(dir, 'prices.json');
    writeFileSync(file, JSON.stringify({ models: { 'my-model': { inputPerMTok: 1, outputPerMTok: 2 } } }));
    expect(loadPriceTable({ DESK_PRICES_FILE: file }).prices).toEqual({
      'my-model': { inputPerMTok: 1, outputPerMTok: 2 },
    });
  });

  it('refuses a bad file with one line naming it', () => {
    const file = path.join(dir, 'prices.json');
    writeFileSync(file, JSON.stringify({ models: { 'my-model': { inputPerMTok: -1, outputPerMTok: 2 } } }));
    expect(() => loadPriceTable({ DESK_PRICES_FILE: file })).toThrow(
      `the price table ${file} is invalid at models.my-model.inputPerMTok`,
    );
    expect(() => loadPriceTable({ DESK_PRICES_FILE: path.join(dir, 'missing.json') })).toThrow(
      /cannot read the price table .*missing\.json/,
    );
  });
});

test('the offline model reports its token counts as estimates, priced at nothing', async () => {
  const offline = await startOfflineModel();
  try {
    const openai = createOpenAIClient({ apiKey: 'offline', baseURL: offline.baseURL, timeoutMs: 5_000 });
    const { callModel } = createModelStep({
      openai,
      model: DEFAULT_OFFLINE_MODEL,
      prices: loadPriceTable({}).prices,
    });
    const result = await callModel({
      agent: 'receptionist',
      messages: [{ role: 'user', content: 'Has my order #12345 shipped?' }],
    });
    expect(result.usage).toEqual({
      model: DEFAULT_OFFLINE_MODEL,
      inputTokens: expect.any(Number),
      outputTokens: expect.any(Number),
      cachedInputTokens: 0,
      estimated: true,
      costUsd: 0,
    });
    expect(result.usage!.inputTokens).toBeGreaterThan(100); // the agent's instructions are counted too
    expect(result.usage!.outputTokens).toBeGreaterThan(0);
  } finally {
    await offline.close();
  }
});
