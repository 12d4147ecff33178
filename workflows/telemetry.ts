/**
 * The workflow's spans and metrics: a span per turn, per tool call and per handoff, and the desk's
 * counters (handoffs, rollbacks, guard hits, refunds). Deterministic and free when unused:
 *
 * - Spans go through `@opentelemetry/api`. Without the OpenTelemetry interceptors on the worker
 *   (worker/telemetry.ts, only when OTEL_EXPORTER_OTLP_ENDPOINT is set) no tracer is registered in
 *   the workflow and every span is the API's no-op. With them, the interceptors' workflow tracer
 *   makes real spans from workflow time and exports them through a sink that is not called on
 *   replay. Either way a span issues no command, so histories replay unchanged.
 * - Metrics go through the SDK's workflow `metricMeter`, which records nothing during replay and
 *   goes nowhere unless the worker's runtime exports metrics (DESK_METRICS_PORT).
 */
import { SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { metricMeter } from '@temporalio/workflow';
import type { AgentName } from '../agents';
import type { ToolRunResult } from '../contract/transcript';
import type { GuardLimit } from './state';

const TRACER = 'durable-service-desk';

/** Runs `fn` in a span that is the active one meanwhile, so activities started inside are its children. */
export function inSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  return trace.getTracer(TRACER).startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** A span for something instantaneous in workflow time (a handoff): started and ended at once. */
export function instantSpan(name: string, attributes: Attributes): void {
  trace.getTracer(TRACER).startSpan(name, { attributes }).end();
}

// Metric objects are cheap handles (a value goes to the worker through a sink): made per use, so
// nothing is kept in module state.
const counter = (name: string, description: string) => metricMeter.createCounter(name, '1', description);

export const deskMetrics = {
  handoff(from: AgentName, to: AgentName): void {
    counter('desk_handoffs', 'Handoffs taken, by from and to agent').add(1, { from, to });
  },
  rollback(from: AgentName, noop: boolean): void {
    counter('desk_rollbacks', 'Rollbacks to the receptionist, by the agent left').add(1, { from, noop: String(noop) });
  },
  guard(agent: AgentName, limit: GuardLimit): void {
    counter('desk_guard_hits', 'Turns stopped by a per-turn guard, by agent and limit').add(1, { agent, limit });
  },
  /** A `process_refund` call's outcome; a replayed (idempotent) refund is not counted again. */
  refund(agent: AgentName, result: ToolRunResult | 'approval_requested'): void {
    const refunds = (outcome: string, code = '') =>
      counter('desk_refunds', 'Refund calls by outcome (refunded, refused with its code, approval_requested)').add(1, {
        agent,
        outcome,
        code,
      });
    if (result === 'approval_requested') refunds('approval_requested');
    else if (!result.ok) refunds('refused', result.code);
    else if (!result.replayed) refunds('refunded');
  },
};
