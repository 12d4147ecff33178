/**
 * What an operator sees of the seed's scenario 3 (cancel, then refund: receptionist -> order ->
 * billing) with tracing and metrics on: a real worker process exporting spans over OTLP/HTTP to a
 * receiver in this test and serving Prometheus metrics, and a client in this process tracing its
 * own call. Checked: one trace holds the whole turn (client, workflow, activities) with the turn,
 * model step (GenAI attributes), tool call and handoff spans in their places; the desk's counters
 * on the metrics endpoint; and the conversation's token sums equal the sum over the model steps
 * recorded in its history.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { sendMessage, startWithMessage } from '../../client/conversations';
import { shutdownTracing, startTracing } from '../../config/tracing';
import type { ModelStepResult } from '../../contract/transcript';
import { freePort } from '../../scripts/dev-server';
import { rollbackSignal, stateQuery } from '../../workflows/messages';
import { spawnWorker, startPrivateServer, type PrivateServer, type WorkerProcess } from '../helpers/e2e';

jest.setTimeout(120_000);

interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** Nanoseconds since the epoch, as text (too large for a number). */
  start: string;
  end: string;
  attributes: Record<string, string | number | boolean | string[]>;
}

/** An OTLP/HTTP receiver (JSON encoding, what the desk's exporter sends): collects every span. */
async function startReceiver(): Promise<{ url: string; spans: ReceivedSpan[]; close(): Promise<void> }> {
  const spans: ReceivedSpan[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !req.headers['content-type']?.includes('json')) {
        res.writeHead(415).end();
        return;
      }
      spans.push(...flatten(JSON.parse(body) as OtlpTraces));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

type OtlpValue = {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
  arrayValue?: { values?: OtlpValue[] };
};
type OtlpAttrs = { key: string; value: OtlpValue }[];
interface OtlpTraces {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttrs };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        startTimeUnixNano: string | number;
        endTimeUnixNano: string | number;
        attributes?: OtlpAttrs;
      }[];
    }[];
  }[];
}

function value(v: OtlpValue): string | number | boolean | string[] {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  return (v.arrayValue?.values ?? []).map((x) => String(value(x)));
}

function attrs(list: OtlpAttrs | undefined): ReceivedSpan['attributes'] {
  return Object.fromEntries((list ?? []).map((a) => [a.key, value(a.value)]));
}

function flatten(body: OtlpTraces): ReceivedSpan[] {
  return (body.resourceSpans ?? []).flatMap((rs) => {
    const service = String(attrs(rs.resource?.attributes)['service.name'] ?? '?');
    return (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((s) => ({
        service,
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId ?? '',
        name: s.name,
        start: String(s.startTimeUnixNano),
        end: String(s.endTimeUnixNano),
        attributes: attrs(s.attributes),
      })),
    );
  });
}

/** The span tree as text, children by start time (what the README shows). */
function render(spans: ReceivedSpan[], root: ReceivedSpan, depth = 0): string[] {
  const a = root.attributes;
  const detail = [
    a['gen_ai.agent.name'] && `agent=${a['gen_ai.agent.name']}`,
    a['gen_ai.usage.input_tokens'] !== undefined &&
      `in=${a['gen_ai.usage.input_tokens']} out=${a['gen_ai.usage.output_tokens']}`,
    a['desk.handoff.reason'] && `reason="${a['desk.handoff.reason']}"`,
  ].filter(Boolean);
  const ms = Number((BigInt(root.end) - BigInt(root.start)) / 1_000_000n);
  const line = `${'  '.repeat(depth)}${root.name} [${root.service}] ${ms} ms${detail.length ? ` ${detail.join(' ')}` : ''}`;
  const children = spans
    .filter((s) => s.parentSpanId === root.spanId)
    .sort((x, y) => (BigInt(x.start) < BigInt(y.start) ? -1 : BigInt(x.start) > BigInt(y.start) ? 1 : 0));
  return [line, ...children.flatMap((c) => render(spans, c, depth + 1))];
}

let server: PrivateServer;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let worker: WorkerProcess;
let shopDir: string;
let metricsPort: number;
let client: Client;

beforeAll(async () => {
  [server, receiver, metricsPort] = await Promise.all([startPrivateServer(), startReceiver(), freePort()]);
  shopDir = mkdtempSync(path.join(tmpdir(), 'desk-e2e-telemetry-'));
  worker = spawnWorker({
    TEMPORAL_ADDRESS: server.address,
    SHOP_DB: path.join(shopDir, 'shop.db'),
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: '100',
    DESK_METRICS_PORT: String(metricsPort),
  });
  await worker.ready;
  // This process's client traces its calls the way the CLI does with the same setting.
  const tracing = await startTracing('desk-client', { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
  client = new Client({ connection: server.client.connection, interceptors: tracing!.clientInterceptors });
}, 180_000);

afterAll(async () => {
  await shutdownTracing();
  await worker?.stop();
  await receiver?.close();
  await server?.stop();
  rmSync(shopDir, { recursive: true, force: true });
});

test('scenario 3 with tracing and metrics on: one trace per turn, the desk counters, token sums equal to the steps', async () => {
  expect(worker.output()).toContain(`traces exported over OTLP to ${receiver.url}/v1/traces`);
  const { handle, reply } = await startWithMessage(
    client,
    { customerId: 'alice' },
    "My order #67890 hasn't shipped yet, can I cancel and refund?",
  );
  expect(reply.agent).toBe('billing');
  const state = await handle.query(stateQuery);
  expect(state.statistics.path).toBe('receptionist -> order -> billing');

  // --- The trace: every span of the turn arrives (batched, every 100 ms) under one client span.
  await shutdownTracing(); // flushes the client's span
  const clientSpan = await eventually(() =>
    receiver.spans.find((s) => s.service === 'desk-client' && s.parentSpanId === ''),
  );
  const trace = await eventually(() => {
    const spans = receiver.spans.filter((s) => s.traceId === clientSpan.traceId);
    const chats = spans.filter((s) => s.attributes['gen_ai.operation.name'] === 'chat');
    // The turn's last model step is billing's reply: the trace is complete once it is there.
    return chats.some((s) => s.attributes['desk.step.outcome'] === 'reply') && spans.some((s) => s.name === 'turn')
      ? spans
      : undefined;
  });
  const tree = render(trace, clientSpan);
  console.log(`the span tree of scenario 3:\n${tree.join('\n')}`);

  const byName = (name: string) => trace.filter((s) => s.name === name);
  const parentOf = (s: ReceivedSpan) => trace.find((p) => p.spanId === s.parentSpanId);
  const ancestors = (s: ReceivedSpan): string[] => {
    const p = parentOf(s);
    return p ? [p.name, ...ancestors(p)] : [];
  };
  // The client's call is the root; the workflow's update handler and the turn hang under it.
  expect(clientSpan.name).toBe('UpdateWithStartWorkflow:sendMessage');
  const [turn] = byName('turn');
  expect(turn).toBeDefined();
  expect(turn!.service).toBe('desk-worker');
  expect(ancestors(turn!)).toContain('HandleUpdate:sendMessage');
  expect(ancestors(turn!).at(-1)).toBe(clientSpan.name);
  expect(turn!.attributes).toMatchObject({
    'gen_ai.conversation.id': handle.workflowId,
    'desk.turn': 1,
    'desk.agent.start': 'receptionist',
    'desk.agent.end': 'billing',
    'desk.handoffs': 2,
  });

  // Model steps: GenAI attributes, under the activity that ran them, under the turn.
  const chats = trace.filter((s) => s.attributes['gen_ai.operation.name'] === 'chat');
  expect(chats.map((s) => s.attributes['gen_ai.agent.name'])).toEqual([
    'receptionist',
    'order',
    'order',
    'billing',
    'billing',
    'billing',
  ]);
  for (const chat of chats) {
    expect(chat.name).toBe('chat offline-desk-model');
    expect(chat.attributes).toMatchObject({
      'gen_ai.system': 'offline',
      'gen_ai.request.model': 'offline-desk-model',
      'gen_ai.usage.input_tokens': expect.any(Number),
      'gen_ai.usage.output_tokens': expect.any(Number),
      'desk.usage.estimated': true,
    });
    expect(ancestors(chat).slice(0, 3)).toEqual(['RunActivity:callModel', 'StartActivity:callModel', 'turn']);
  }
  expect(chats).toHaveLength(state.usage!.total.steps);
  const sum = (key: string) => chats.reduce((n, s) => n + Number(s.attributes[key]), 0);
  expect(sum('gen_ai.usage.input_tokens')).toBe(state.usage!.total.inputTokens);
  expect(sum('gen_ai.usage.output_tokens')).toBe(state.usage!.total.outputTokens);

  // Handoffs with from, to and reason, in the turn.
  const handoffs = trace.filter((s) => s.name.startsWith('handoff '));
  expect(handoffs.map((s) => [s.attributes['desk.handoff.from'], s.attributes['desk.handoff.to']])).toEqual([
    ['receptionist', 'order'],
    ['order', 'billing'],
  ]);
  for (const h of handoffs) {
    expect(parentOf(h)?.name).toBe('turn');
    expect(String(h.attributes['desk.handoff.reason']).trim()).not.toBe('');
  }

  // Tool calls: a span each, the activity under it.
  for (const [tool, agent] of [
    ['cancel_order', 'order'],
    ['process_refund', 'billing'],
  ] as const) {
    const [span] = byName(`execute_tool ${tool}`);
    expect(span?.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': tool,
      'gen_ai.agent.name': agent,
      'desk.tool.ok': true,
    });
    expect(parentOf(span!)?.name).toBe('turn');
    const run = trace.find((s) => s.name === 'RunActivity:runTool' && ancestors(s).includes(span!.name));
    expect(run).toBeDefined();
  }

  // --- Token sums in state equal the sum over the model steps recorded in history.
  const steps = await recordedModelSteps(handle);
  expect(steps.length).toBe(state.usage!.total.steps);
  const total = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 };
  const perAgent: Record<string, number> = {};
  for (const { agent, result } of steps) {
    total.inputTokens += result.usage!.inputTokens;
    total.outputTokens += result.usage!.outputTokens;
    total.cachedInputTokens += result.usage!.cachedInputTokens;
    perAgent[agent] = (perAgent[agent] ?? 0) + result.usage!.inputTokens;
  }
  expect(state.usage!.total).toMatchObject({ ...total, costUsd: 0, unpricedSteps: 0, estimatedSteps: steps.length });
  expect(Object.fromEntries(Object.entries(state.usage!.byAgent).map(([a, c]) => [a, c.inputTokens]))).toEqual(
    perAgent,
  );

  // The Temporal UI's current details carry the same numbers, per agent.
  const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  expect(metadata.currentDetails).toContain(
    `Tokens: ${state.usage!.total.steps} steps, tokens in ${state.usage!.total.inputTokens.toLocaleString('en-US')} out`,
  );
  for (const agent of ['receptionist', 'order', 'billing'])
    expect(metadata.currentDetails).toMatch(new RegExp(`^${agent}: \\d+ steps?, tokens in`, 'm'));

  // A rollback and one more turn, for the rollback counter.
  await handle.signal(rollbackSignal, { reason: 'customer asked for the front desk' });
  const next = await sendMessage(handle, 'Thanks. Who am I talking to now?');
  expect(next.agent).toBe('receptionist');

  // A turn stopped by the steps guard (one step allowed: the receptionist's handoff uses it), and
  // bob's $450 refund, above the approval limit, waiting for a person.
  const guarded = await startWithMessage(
    client,
    { customerId: 'alice', limits: { maxStepsPerTurn: 1 } },
    'Has my order #12345 shipped?',
  );
  expect(guarded.reply.events).toContainEqual({ type: 'guard', agent: 'order', limit: 'steps' });
  const waiting = await startWithMessage(
    client,
    { customerId: 'bob' },
    "I'd like a refund for order #86420, the projector arrived broken",
  );
  expect(waiting.reply.events.some((e) => e.type === 'approval_requested')).toBe(true);

  // --- Metrics: the desk's counters (desk_*) and the SDK's own (temporal_*), on the worker's one endpoint.
  const metrics = await eventually(async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    return text.includes('desk_rollbacks') && text.includes('desk_guard_hits') && text.includes('approval_requested')
      ? text
      : undefined;
  });
  // Scenario 3's and the guarded turn's.
  expect(metric(metrics, 'desk_handoffs', { from: 'receptionist', to: 'order' })).toBe(2);
  expect(metric(metrics, 'desk_handoffs', { from: 'order', to: 'billing' })).toBe(1);
  expect(metric(metrics, 'desk_refunds', { agent: 'billing', outcome: 'refunded' })).toBe(1);
  expect(metric(metrics, 'desk_rollbacks', { from: 'billing' })).toBe(1);
  expect(metric(metrics, 'desk_guard_hits', { agent: 'order', limit: 'steps' })).toBe(1);
  expect(metric(metrics, 'desk_refunds', { agent: 'billing', outcome: 'approval_requested' })).toBe(1);
  expect(metric(metrics, 'desk_handoffs', { from: 'receptionist', to: 'billing' })).toBe(1);
  // Tokens and steps by agent: the worker's counters against the three conversations' own sums.
  const states = await Promise.all([handle, guarded.handle, waiting.handle].map((h) => h.query(stateQuery)));
  const byAgent = (agent: 'receptionist' | 'order' | 'billing', key: 'inputTokens' | 'outputTokens' | 'steps') =>
    states.reduce((n, s) => n + (s.usage!.byAgent[agent]?.[key] ?? 0), 0);
  for (const agent of ['receptionist', 'order', 'billing'] as const) {
    expect(metric(metrics, 'desk_model_tokens', { agent, kind: 'input' })).toBe(byAgent(agent, 'inputTokens'));
    expect(metric(metrics, 'desk_model_tokens', { agent, kind: 'output' })).toBe(byAgent(agent, 'outputTokens'));
    expect(metric(metrics, 'desk_model_step_latency_count', { agent })).toBe(byAgent(agent, 'steps'));
  }
  expect(metrics).toMatch(/^temporal_workflow_task_schedule_to_start_latency_bucket\{/m);
  expect(metrics).toMatch(/^temporal_activity_execution_latency_count\{/m);
});

/** Each completed `callModel` in the conversation's history: its agent and its result. */
async function recordedModelSteps(handle: {
  fetchHistory(): Promise<{ events?: import('@temporalio/proto').temporal.api.history.v1.IHistoryEvent[] | null }>;
}): Promise<{ agent: string; result: ModelStepResult }[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = new Map(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'callModel')
      .map((e) => {
        const input = defaultPayloadConverter.fromPayload<{ agent: string }>(
          e.activityTaskScheduledEventAttributes!.input!.payloads![0]!,
        );
        return [String(e.eventId), input.agent];
      }),
  );
  return events.flatMap((e) => {
    const done = e.activityTaskCompletedEventAttributes;
    const agent = done && scheduled.get(String(done.scheduledEventId));
    if (!agent) return [];
    return [{ agent, result: defaultPayloadConverter.fromPayload<ModelStepResult>(done.result!.payloads![0]!) }];
  });
}

/** The sum of a Prometheus series' samples whose labels include `labels`. */
function metric(text: string, name: string, labels: Record<string, string>): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{([^}]*)\} ([0-9.e+-]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const has = Object.entries(labels).every(([k, v]) => m[2]!.includes(`${k}="${v}"`));
    if (has) total += Number(m[3]);
  }
  return total;
}

async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}
