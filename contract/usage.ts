/**
 * Tokens and cost: what one model step reports (`StepUsage`, from the endpoint's `usage`), what a
 * conversation keeps (`UsageTotals`, summed per agent and for the whole conversation, carried
 * through continue-as-new), and how both read to a person. Pure and shared by the activities (which
 * price a step), the workflow (which sums) and the clients (which print). A price is never guessed:
 * a step whose model is not in the price table has no cost, and a total with such a step says so
 * (`unpricedSteps`), so it is shown as "unknown" rather than as a number that is too low.
 */
import type { AgentName } from '../agents';

/** One model step's usage as the endpoint reported it (or, for the offline model, estimated it). */
export interface StepUsage {
  /** The model the step was priced as (the configured one). */
  model: string;
  /** Prompt tokens, cached ones included (`usage.prompt_tokens`). */
  inputTokens: number;
  outputTokens: number;
  /** Prompt tokens served from the provider's cache (`usage.prompt_tokens_details.cached_tokens`). */
  cachedInputTokens: number;
  /** Set when the numbers are estimates (the offline model counts about four characters a token). */
  estimated?: true;
  /** In US dollars, from the price table; absent when the model has no price there. */
  costUsd?: number;
}

/** Sums over model steps. */
export interface TokenCounts {
  steps: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  /** Sum over the priced steps only; read it together with `unpricedSteps`. */
  costUsd: number;
  /** Steps whose model had no price: while above 0 the cost is unknown. */
  unpricedSteps: number;
  /** Steps whose token counts are estimates. */
  estimatedSteps: number;
}

/**
 * A conversation's usage: the whole conversation and each agent. Bounded by the number of agents;
 * absent until the first step that reported usage (and in conversations from releases before it).
 */
export interface UsageTotals {
  total: TokenCounts;
  byAgent: Partial<Record<AgentName, TokenCounts>>;
}

export const ZERO_COUNTS: TokenCounts = {
  steps: 0,
  inputTokens: 0,
  outputTokens: 0,
  cachedInputTokens: 0,
  costUsd: 0,
  unpricedSteps: 0,
  estimatedSteps: 0,
};

export function addStep(counts: TokenCounts, step: StepUsage): TokenCounts {
  return {
    steps: counts.steps + 1,
    inputTokens: counts.inputTokens + step.inputTokens,
    outputTokens: counts.outputTokens + step.outputTokens,
    cachedInputTokens: counts.cachedInputTokens + step.cachedInputTokens,
    costUsd: counts.costUsd + (step.costUsd ?? 0),
    unpricedSteps: counts.unpricedSteps + (step.costUsd === undefined ? 1 : 0),
    estimatedSteps: counts.estimatedSteps + (step.estimated ? 1 : 0),
  };
}

/** The totals with one more step of `agent`. */
export function addUsage(totals: UsageTotals | undefined, agent: AgentName, step: StepUsage): UsageTotals {
  const byAgent = totals?.byAgent ?? {};
  return {
    total: addStep(totals?.total ?? ZERO_COUNTS, step),
    byAgent: { ...byAgent, [agent]: addStep(byAgent[agent] ?? ZERO_COUNTS, step) },
  };
}

/** Prices per million tokens, in US dollars. Cached input falls back to the input price. */
export interface ModelPrice {
  inputPerMTok: number;
  outputPerMTok: number;
  cachedInputPerMTok?: number;
}

export type PriceTable = Readonly<Record<string, ModelPrice>>;

/**
 * A step's cost, or undefined when neither the configured model nor the one the endpoint answered
 * as (often a dated name such as `gpt-4.1-mini-2025-04-14`) has a price.
 */
export function stepCost(
  prices: PriceTable,
  models: readonly (string | undefined)[],
  tokens: Pick<StepUsage, 'inputTokens' | 'outputTokens' | 'cachedInputTokens'>,
): number | undefined {
  const name = models.find((m): m is string => m !== undefined && Object.hasOwn(prices, m));
  if (name === undefined) return undefined;
  const price = prices[name]!;
  const cached = Math.min(tokens.cachedInputTokens, tokens.inputTokens);
  const usd =
    ((tokens.inputTokens - cached) * price.inputPerMTok +
      cached * (price.cachedInputPerMTok ?? price.inputPerMTok) +
      tokens.outputTokens * price.outputPerMTok) /
    1_000_000;
  return usd;
}

/** `$0.0123`, or `unknown` when any step had no price. Never a made-up number. */
export function formatCost(counts: TokenCounts): string {
  if (counts.unpricedSteps > 0) return 'unknown';
  return formatUsd(counts.costUsd);
}

export function formatUsd(usd: number): string {
  if (usd === 0) return '$0';
  return usd < 0.01 ? `$${usd.toFixed(6)}` : `$${usd.toFixed(4)}`;
}

/** `in 1,234 (cached 200) out 56, cost $0.0012` plus `(estimated)` when any count is an estimate. */
export function formatCounts(counts: TokenCounts): string {
  // Grouped by hand: this also runs in the workflow sandbox, where nothing locale-dependent belongs.
  const n = (x: number) => String(x).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const cached = counts.cachedInputTokens > 0 ? ` (cached ${n(counts.cachedInputTokens)})` : '';
  const estimated = counts.estimatedSteps > 0 ? ' (estimated)' : '';
  return `${counts.steps} step${counts.steps === 1 ? '' : 's'}, tokens in ${n(counts.inputTokens)}${cached} out ${n(counts.outputTokens)}${estimated}, cost ${formatCost(counts)}`;
}

/** What the conversation's memo holds, for listings: the totals in a few numbers. */
export interface UsageMemo {
  steps: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  /** Null when any step had no price: unknown. */
  costUsd: number | null;
  estimated: boolean;
}

export function usageMemo(totals: UsageTotals): UsageMemo {
  const t = totals.total;
  return {
    steps: t.steps,
    inputTokens: t.inputTokens,
    outputTokens: t.outputTokens,
    cachedInputTokens: t.cachedInputTokens,
    costUsd: t.unpricedSteps > 0 ? null : t.costUsd,
    estimated: t.estimatedSteps > 0,
  };
}
