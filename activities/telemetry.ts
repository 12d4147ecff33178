/**
 * The model step as an operator sees it: an OpenTelemetry span following the GenAI semantic
 * conventions (`chat <model>`, `gen_ai.*` attributes, usage included), and the step's latency and
 * tokens by agent on the SDK's activity metric meter. Both cost nothing when off: without a tracer
 * provider (worker/telemetry.ts registers one only when OTEL_EXPORTER_OTLP_ENDPOINT is set) the
 * span is the API's no-op, and without DESK_METRICS_PORT the runtime's meter exports nowhere.
 */
import { Context } from '@temporalio/activity';
import type { MetricMeter } from '@temporalio/common';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { ModelStepInput, ModelStepResult } from '../contract/transcript';

export interface ModelStepTelemetry {
  /** The configured model name (`gen_ai.request.model`). */
  model: string;
  /** `gen_ai.system`: `openai` for any OpenAI-compatible endpoint, `offline` for the stand-in. */
  system: string;
  /** The endpoint, as `server.address` and `server.port`. */
  baseURL?: string;
}

export function tracedModelStep(
  step: (input: ModelStepInput, stop?: AbortSignal) => Promise<ModelStepResult>,
  t: ModelStepTelemetry,
): (input: ModelStepInput, stop?: AbortSignal) => Promise<ModelStepResult> {
  const server = serverOf(t.baseURL);
  return (input, stop) => {
    const started = performance.now();
    const attributes = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.system': t.system,
      'gen_ai.provider.name': t.system,
      'gen_ai.request.model': t.model,
      'gen_ai.agent.name': input.agent,
      ...server,
    };
    return trace.getTracer('durable-service-desk').startActiveSpan(`chat ${t.model}`, { attributes }, async (span) => {
      let outcome = 'failed';
      try {
        const result = await step(input, stop);
        outcome = result.kind;
        const u = result.usage;
        span.setAttributes({
          'gen_ai.response.finish_reasons': [result.kind === 'tool_calls' ? 'tool_calls' : 'stop'],
          'desk.step.outcome': result.kind,
          ...(u && {
            'gen_ai.response.model': u.model,
            'gen_ai.usage.input_tokens': u.inputTokens,
            'gen_ai.usage.output_tokens': u.outputTokens,
            'gen_ai.usage.cache_read.input_tokens': u.cachedInputTokens,
            'desk.usage.estimated': u.estimated === true,
            ...(u.costUsd !== undefined && { 'desk.cost_usd': u.costUsd }),
          }),
        });
        recordStep(input.agent, t.model, outcome, performance.now() - started, result);
        return result;
      } catch (err) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
        span.setAttribute('error.type', (err as { type?: string }).type ?? (err as Error).name ?? 'Error');
        recordStep(input.agent, t.model, outcome, performance.now() - started, undefined);
        throw err;
      } finally {
        span.end();
      }
    });
  };
}

function serverOf(baseURL: string | undefined): Record<string, string | number> {
  if (!baseURL) return {};
  try {
    const url = new URL(baseURL);
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    return { 'server.address': url.hostname, 'server.port': port };
  } catch {
    return {};
  }
}

/** The activity's meter, or none outside an activity (unit tests call the step directly). */
function activityMeter(): MetricMeter | undefined {
  try {
    return Context.current().metricMeter;
  } catch {
    return undefined;
  }
}

function recordStep(
  agent: string,
  model: string,
  outcome: string,
  ms: number,
  result: ModelStepResult | undefined,
): void {
  const meter = activityMeter();
  if (!meter) return;
  const tags = { agent, model };
  meter
    .createHistogram('desk_model_step_latency', 'int', 'ms', 'Model step latency, by agent, model and outcome')
    .record(Math.round(ms), { ...tags, outcome });
  const u = result?.usage;
  if (!u) return;
  const tokens = meter.createCounter('desk_model_tokens', '1', 'Model tokens by agent, model and kind');
  tokens.add(u.inputTokens, { ...tags, kind: 'input' });
  tokens.add(u.outputTokens, { ...tags, kind: 'output' });
  tokens.add(u.cachedInputTokens, { ...tags, kind: 'cached_input' });
}
