/**
 * The model step against a fake OpenAI-compatible server on a real local port, scripted per test:
 * the request it builds (instructions, transcript, tools with schemas) and how it maps every
 * answer and failure (replies, tool calls, refusals, 4xx/5xx, timeouts, refused connections).
 * Every case runs twice, streamed and not: the fake answers a `stream: true` request with the
 * same completion cut into server-sent chunks (the offline model's own cutter), and the step must
 * return the same result either way. Then what only streaming has: deltas on the reply stream,
 * streams that break off, cancellation mid-stream.
 * The real `openai` client does the HTTP; nothing is mocked.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { z } from 'zod';

import {
  EMPTY_REPLY,
  REFUSAL_REPLY,
  SHARED_CONTEXT_NOTE,
  classifyModelError,
  createModelStep,
  createOpenAIClient,
  retryAfterMs,
  type ToolCatalog,
} from '../../activities/model';
import type { ReplyStepKey, ReplyStreamWriter } from '../../activities/reply-stream';
import { completionChunks, type CompletionBody } from '../../offline-model';
import { AGENTS, type ToolName } from '../../agents';
import { TOOL_NAMES } from '../../activities/tools';
import type { ChatMessage, ModelStepInput } from '../../contract/transcript';

const API_KEY = 'sk-test-SECRET-0123456789abcdef';
const MODEL = 'gpt-test-model';

// ---------------------------------------------------------------------------------------------
// A scripted OpenAI-compatible server

interface Scripted {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Never answer (for the timeout test). */
  hang?: boolean;
  /** Raw server-sent events to answer with (`data: …` without the blank line), whatever the request asked. */
  events?: string[];
  /** Answer a `stream: true` request with one JSON body anyway, as some servers do. */
  ignoreStream?: boolean;
  /** After the events, keep the connection open (true) or cut it (`cut`) instead of ending the response. */
  after?: 'hang' | 'cut';
}

interface FakeServer {
  baseURL: string;
  /** Parsed JSON bodies of every request received. */
  requests: Array<Record<string, any>>;
  close(): Promise<void>;
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function fakeServer(script: (body: Record<string, any>) => Scripted): Promise<FakeServer> {
  const requests: Array<Record<string, any>> = [];
  const server = await listen((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, any>;
      requests.push(body);
      const answer = script(body);
      if (answer.hang) return;
      const events =
        answer.events ??
        (body.stream && !answer.ignoreStream && (answer.status ?? 200) === 200
          ? completionChunks(answer.body as CompletionBody, {
              includeUsage: body.stream_options?.include_usage === true,
            })
              .map((c) => `data: ${JSON.stringify(c)}`)
              .concat('data: [DONE]')
          : undefined);
      if (!events) {
        res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers });
        res.end(JSON.stringify(answer.body ?? {}));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const event of events) res.write(`${event}\n\n`);
      if (answer.after === 'cut') setTimeout(() => res.socket?.destroy(), 20);
      else if (answer.after !== 'hang') res.end();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function completion(message: Record<string, unknown>, finishReason = 'stop'): Scripted {
  return {
    body: {
      id: 'chatcmpl-test',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: MODEL,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: null, refusal: null, ...message },
          logprobs: null,
          finish_reason: finishReason,
        },
      ],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    },
  };
}

/** What `completion()`'s usage becomes: the configured model's name, no price table (so no cost). */
const STEP_USAGE = { model: MODEL, inputTokens: 10, outputTokens: 5, cachedInputTokens: 0 };

function apiError(
  status: number,
  message: string,
  code: string | null = null,
  headers?: Record<string, string>,
): Scripted {
  return { status, headers, body: { error: { message, type: 'invalid_request_error', param: null, code } } };
}

// A fake tool registry (habit 12): schemas derived with zod, as the real one does.
const fakeParameters = (name: ToolName): z.ZodObject =>
  z.object({ order_id: z.string().describe(`order for ${name}`) });
const fakeCatalog: ToolCatalog = {
  TOOLS: Object.fromEntries(
    TOOL_NAMES.map((name) => [name, { name, description: `Fake description of ${name}` }]),
  ) as ToolCatalog['TOOLS'],
  toolJsonSchema: (name) => {
    const { $schema: _drop, ...schema } = z.toJSONSchema(fakeParameters(name), { io: 'input' });
    return schema;
  },
};

let server: FakeServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function stepAgainst(
  script: (body: Record<string, any>) => Scripted,
  timeoutMs = 5_000,
  opts: { stream?: boolean; replies?: ReplyStreamWriter } = {},
) {
  server = await fakeServer(script);
  const openai = createOpenAIClient({ apiKey: API_KEY, baseURL: server.baseURL, timeoutMs });
  return createModelStep({ openai, model: MODEL, tools: fakeCatalog, stream: opts.stream ?? true, ...opts });
}

const hello: ModelStepInput = { agent: 'receptionist', messages: [{ role: 'user', content: 'Hello there' }] };

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }
  throw new Error('expected the model step to fail');
}

// ---------------------------------------------------------------------------------------------

describe.each([
  ['streamed', true],
  ['not streamed', false],
])('%s', (_mode, stream) => {
  const against = (script: (body: Record<string, any>) => Scripted, timeoutMs?: number) =>
    stepAgainst(script, timeoutMs, { stream });

  describe('callModel: requests and results', () => {
    it('returns a plain reply and sends only model, messages, tools and tool_choice (and the stream fields)', async () => {
      const step = await against(() => completion({ content: 'Hi! How can I help?' }));
      await expect(step.callModel(hello)).resolves.toEqual({
        kind: 'reply',
        text: 'Hi! How can I help?',
        usage: STEP_USAGE,
      });

      const request = server!.requests[0]!;
      expect(Object.keys(request).sort()).toEqual(
        stream
          ? ['messages', 'model', 'stream', 'stream_options', 'tool_choice', 'tools']
          : ['messages', 'model', 'tool_choice', 'tools'],
      );
      if (stream) expect(request).toMatchObject({ stream: true, stream_options: { include_usage: true } });
      expect(request.model).toBe(MODEL);
      expect(request.tool_choice).toBe('auto');
      expect(request.messages).toEqual([
        { role: 'system', content: `${AGENTS.receptionist.instructions}\n\n${SHARED_CONTEXT_NOTE}` },
        { role: 'user', content: 'Hello there' },
      ]);
    });

    it('offers billing its function tools and handoffs with JSON schemas, converts the transcript and returns tool calls', async () => {
      const step = await against(() =>
        completion(
          {
            content: 'Let me check that order.',
            tool_calls: [
              {
                id: 'call_abc',
                type: 'function',
                function: { name: 'get_order_status', arguments: '{"order_id":"12345"}' },
              },
            ],
          },
          'tool_calls',
        ),
      );
      const transcript: ChatMessage[] = [
        { role: 'user', content: 'I want a refund for #12345' },
        {
          role: 'assistant',
          agent: 'receptionist',
          content: null,
          toolCalls: [{ id: 'conv-1:1:1:0', name: 'transfer_to_billing', arguments: '{"reason":"refund for 12345"}' }],
        },
        {
          role: 'tool',
          toolCallId: 'conv-1:1:1:0',
          name: 'transfer_to_billing',
          content: '{"ok":true,"data":{"to":"billing"}}',
        },
        { role: 'event', content: 'The conversation was handed to billing.' },
        { role: 'assistant', agent: 'billing', content: 'One moment.' },
      ];

      const result = await step.callModel({ agent: 'billing', messages: transcript });
      expect(result).toEqual({
        kind: 'tool_calls',
        text: 'Let me check that order.',
        calls: [
          { id: 'call_abc', name: 'get_order_status', arguments: '{"order_id":"12345"}', summary: 'order 12345' },
        ],
        usage: STEP_USAGE,
      });

      const request = server!.requests[0]!;
      expect(request.messages).toEqual([
        { role: 'system', content: `${AGENTS.billing.instructions}\n\n${SHARED_CONTEXT_NOTE}` },
        { role: 'user', content: 'I want a refund for #12345' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: 'conv-1:1:1:0',
              type: 'function',
              function: { name: 'transfer_to_billing', arguments: '{"reason":"refund for 12345"}' },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'conv-1:1:1:0', content: '{"ok":true,"data":{"to":"billing"}}' },
        { role: 'system', content: 'The conversation was handed to billing.' },
        { role: 'assistant', content: 'One moment.' },
      ]);

      const tools = request.tools as Array<{
        type: string;
        function: { name: string; description: string; parameters: any };
      }>;
      expect(tools.map((t) => t.function.name)).toEqual([
        'get_order_status',
        'process_refund',
        'get_invoice',
        'transfer_to_order',
        'transfer_to_receptionist',
      ]);
      expect(tools.every((t) => t.type === 'function')).toBe(true);
      expect(tools[1]!.function.description).toBe('Fake description of process_refund');
      expect(tools[1]!.function.parameters).toEqual(fakeCatalog.toolJsonSchema('process_refund'));
      const transfer = tools[3]!.function;
      expect(transfer.description).toContain(AGENTS.order.description);
      expect(transfer.parameters).toMatchObject({
        type: 'object',
        properties: { reason: { type: 'string' } },
        required: ['reason'],
      });
      expect(transfer.parameters.$schema).toBeUndefined();
    });

    it('returns a handoff as a tool call', async () => {
      const step = await against(() =>
        completion(
          {
            tool_calls: [
              {
                id: 'call_1',
                type: 'function',
                function: { name: 'transfer_to_billing', arguments: '{"reason":"Customer wants a refund"}' },
              },
            ],
          },
          'tool_calls',
        ),
      );
      await expect(step.callModel(hello)).resolves.toEqual({
        kind: 'tool_calls',
        text: null,
        calls: [{ id: 'call_1', name: 'transfer_to_billing', arguments: '{"reason":"Customer wants a refund"}' }],
        usage: STEP_USAGE,
      });
      expect((server!.requests[0]!.tools as Array<{ function: { name: string } }>).map((t) => t.function.name)).toEqual(
        ['transfer_to_order', 'transfer_to_billing', 'transfer_to_tech'],
      );
    });

    it('passes malformed tool-call arguments through raw (the workflow answers them with a tool error)', async () => {
      const step = await against(() =>
        completion(
          {
            tool_calls: [
              { id: 'call_x', type: 'function', function: { name: 'get_order_status', arguments: '{"order_id": 123' } },
            ],
          },
          'tool_calls',
        ),
      );
      const result = await step.callModel({ agent: 'order', messages: hello.messages });
      expect(result).toEqual({
        kind: 'tool_calls',
        text: null,
        calls: [{ id: 'call_x', name: 'get_order_status', arguments: '{"order_id": 123' }],
        usage: STEP_USAGE,
      });
    });

    it('maps finish_reason content_filter to the canned refusal', async () => {
      const step = await against(() => completion({ content: null }, 'content_filter'));
      await expect(step.callModel(hello)).resolves.toEqual({ kind: 'refusal', text: REFUSAL_REPLY, usage: STEP_USAGE });
    });

    it("maps Azure's 400 content_filter to the canned refusal, not a failure", async () => {
      const step = await against(() =>
        apiError(
          400,
          'The response was filtered due to the prompt triggering content management policy.',
          'content_filter',
        ),
      );
      await expect(step.callModel(hello)).resolves.toEqual({ kind: 'refusal', text: REFUSAL_REPLY });
    });

    it("returns the model's own refusal text", async () => {
      const step = await against(() => completion({ content: null, refusal: "I can't help with that." }));
      await expect(step.callModel(hello)).resolves.toEqual({
        kind: 'refusal',
        text: "I can't help with that.",
        usage: STEP_USAGE,
      });
    });

    it('answers an empty completion with a polite reply instead of failing', async () => {
      const step = await against(() => completion({ content: '' }));
      await expect(step.callModel(hello)).resolves.toEqual({ kind: 'reply', text: EMPTY_REPLY, usage: STEP_USAGE });
    });
  });

  describe('callModel: failures', () => {
    it('429 with retry-after: 7 is a retryable RateLimited failure with nextRetryDelay 7 s', async () => {
      const step = await against(() =>
        apiError(429, 'Rate limit reached', 'rate_limit_exceeded', { 'retry-after': '7' }),
      );
      const failure = await failureOf(step.callModel(hello));
      expect(failure.type).toBe('ModelCall.RateLimited');
      expect(failure.nonRetryable).toBe(false);
      expect(failure.nextRetryDelay).toBe(7_000);
    });

    it('429 insufficient_quota is not retried', async () => {
      const step = await against(() => apiError(429, 'You exceeded your current quota', 'insufficient_quota'));
      const failure = await failureOf(step.callModel(hello));
      expect(failure.type).toBe('ModelCall.QuotaExceeded');
      expect(failure.nonRetryable).toBe(true);
    });

    it('500 is a retryable ServerError after exactly one HTTP request (maxRetries 0)', async () => {
      const step = await against(() => ({ status: 500, body: { error: { message: 'boom', type: 'server_error' } } }));
      const failure = await failureOf(step.callModel(hello));
      expect(failure.type).toBe('ModelCall.ServerError');
      expect(failure.nonRetryable).toBe(false);
      expect(server!.requests).toHaveLength(1);
    });

    it('401 is non-retryable, points at OPENAI_API_KEY and never contains the key', async () => {
      const step = await against(() => apiError(401, `Incorrect API key provided: ${API_KEY}.`, 'invalid_api_key'));
      const failure = await failureOf(step.callModel(hello));
      expect(failure.type).toBe('ModelCall.Unauthorized');
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).toContain('OPENAI_API_KEY');
      expect(
        JSON.stringify({ message: failure.message, details: failure.details, stack: failure.stack }),
      ).not.toContain('SECRET');
    });

    it('a key echoed in any other error message is scrubbed', async () => {
      const step = await against(() => apiError(400, `Bad thing with key ${API_KEY}`));
      const failure = await failureOf(step.callModel(hello));
      expect(failure.type).toBe('ModelCall.BadRequest');
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).not.toContain('SECRET');
    });

    it('404 is non-retryable and names the model', async () => {
      const step = await against(() => apiError(404, `The model ${MODEL} does not exist`, 'model_not_found'));
      const failure = await failureOf(step.callModel(hello));
      expect(failure.type).toBe('ModelCall.NotFound');
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).toContain(`"${MODEL}"`);
      expect(failure.message).toContain('OPENAI_BASE_URL');
    });

    it.each([
      [403, 'ModelCall.Forbidden', true],
      [422, 'ModelCall.Unprocessable', true],
      [408, 'ModelCall.Timeout', false],
      [409, 'ModelCall.Conflict', false],
      [503, 'ModelCall.ServerError', false],
    ])('%i is %s (nonRetryable %s)', async (status, type, nonRetryable) => {
      const step = await against(() => apiError(status, 'nope'));
      const failure = await failureOf(step.callModel(hello));
      expect(failure.type).toBe(type);
      expect(failure.nonRetryable).toBe(nonRetryable);
    });

    it('a server that never answers is a retryable Timeout', async () => {
      const step = await against(() => ({ hang: true }), 200);
      const failure = await failureOf(step.callModel(hello));
      expect(failure.type).toBe('ModelCall.Timeout');
      expect(failure.nonRetryable).toBe(false);
      expect(server!.requests).toHaveLength(1);
    });

    it('a refused connection is a retryable Unreachable failure', async () => {
      const closed = await listen(() => {});
      const { port } = closed.address() as AddressInfo;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const openai = createOpenAIClient({ apiKey: API_KEY, baseURL: `http://127.0.0.1:${port}/v1`, timeoutMs: 2_000 });
      const step = createModelStep({ openai, model: MODEL, tools: fakeCatalog, stream });
      const failure = await failureOf(step.callModel(hello));
      expect(failure.type).toBe('ModelCall.Unreachable');
      expect(failure.nonRetryable).toBe(false);
      expect(failure.message).toContain(`127.0.0.1:${port}`);
    });
  });
});

describe('callModel: streaming', () => {
  /** A reply stream that records what the step publishes. */
  function recordingReplies() {
    const seen = { keys: [] as ReplyStepKey[], deltas: [] as string[], finals: [] as string[] };
    const replies: ReplyStreamWriter = {
      begin: (key) => {
        seen.keys.push(key);
        return { push: (d) => void seen.deltas.push(d), finish: async (t) => void seen.finals.push(t) };
      },
    };
    return { replies, seen };
  }
  const activity = () =>
    new MockActivityEnvironment({
      activityId: '7',
      attempt: 2,
      workflowExecution: { workflowId: 'conversation-alice-1', runId: 'run-1' },
    });
  const event = (delta: Record<string, unknown>, finish: string | null = null) =>
    `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: MODEL, choices: [{ index: 0, delta, finish_reason: finish }] })}`;

  it('publishes each text delta as it arrives, and ends the attempt with exactly the returned text', async () => {
    const { replies, seen } = recordingReplies();
    const text = 'Your order 12345 has shipped with UPS; the tracking number is TRK-98765.';
    const step = await stepAgainst(() => completion({ content: text }), 5_000, { replies });
    const result = await activity().run(step.callModel, hello);
    expect(result).toEqual({ kind: 'reply', text, usage: STEP_USAGE });
    expect(seen.keys).toEqual([{ conversationId: 'conversation-alice-1', step: 'run-1/7', attempt: 2 }]);
    expect(seen.deltas.length).toBeGreaterThan(5);
    expect(seen.deltas.join('')).toBe(text);
    expect(seen.finals).toEqual([text]);
  });

  it("ends a tool-calling step with its text, or '' when it has none", async () => {
    const call = {
      id: 'call_1',
      type: 'function',
      function: { name: 'get_order_status', arguments: '{"order_id":"1"}' },
    };
    for (const content of ['Let me look that up.', null]) {
      const { replies, seen } = recordingReplies();
      const step = await stepAgainst(() => completion({ content, tool_calls: [call] }, 'tool_calls'), 5_000, {
        replies,
      });
      const input: ModelStepInput = { agent: 'order', messages: hello.messages };
      const result = await activity().run(step.callModel, input);
      expect(result).toMatchObject({ kind: 'tool_calls', text: content, calls: [{ name: 'get_order_status' }] });
      expect(seen.finals).toEqual([content ?? '']);
      await server?.close();
      server = undefined;
    }
  });

  it('the refusal text replaces what streamed before it', async () => {
    const { replies, seen } = recordingReplies();
    const step = await stepAgainst(
      () => completion({ content: 'Sure, here is how to', refusal: null }, 'content_filter'),
      5_000,
      {
        replies,
      },
    );
    await expect(activity().run(step.callModel, hello)).resolves.toEqual({
      kind: 'refusal',
      text: REFUSAL_REPLY,
      usage: STEP_USAGE,
    });
    expect(seen.deltas.join('')).toBe('Sure, here is how to');
    expect(seen.finals).toEqual([REFUSAL_REPLY]);
  });

  it('publishes nothing when streaming is off', async () => {
    const { replies, seen } = recordingReplies();
    const step = await stepAgainst(() => completion({ content: 'Hi!' }), 5_000, { replies, stream: false });
    await expect(activity().run(step.callModel, hello)).resolves.toEqual({
      kind: 'reply',
      text: 'Hi!',
      usage: STEP_USAGE,
    });
    expect(server!.requests[0]!.stream).toBeUndefined();
    expect(seen).toEqual({ keys: [], deltas: [], finals: [] });
  });

  it.each([
    [
      'an error event',
      [
        event({ role: 'assistant', content: 'Half ' }),
        'data: {"error":{"message":"overloaded","type":"server_error"}}',
      ],
      undefined,
    ],
    ['a cut connection', [event({ role: 'assistant', content: 'Half ' })], 'cut' as const],
    ['a stream that ends without finishing its answer', [event({ role: 'assistant', content: 'Half ' })], undefined],
  ])('%s mid-stream is a retryable StreamFailed, and the attempt ends with no text', async (_case, events, after) => {
    const { replies, seen } = recordingReplies();
    const step = await stepAgainst(() => ({ events, after }), 5_000, { replies });
    const failure = await failureOf(activity().run(step.callModel, hello));
    expect(failure.type).toBe('ModelCall.StreamFailed');
    expect(failure.nonRetryable).toBe(false);
    expect(seen.deltas).toEqual(['Half ']);
    expect(seen.finals).toEqual(['']);
  });

  it('an endpoint that answers a stream request with one JSON body fails retryably and names DESK_MODEL_STREAM=off', async () => {
    const step = await stepAgainst(() => ({ ...completion({ content: 'Hi!' }), ignoreStream: true }));
    const failure = await failureOf(activity().run(step.callModel, hello));
    expect(failure.type).toBe('ModelCall.StreamFailed');
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toContain('DESK_MODEL_STREAM=off');
  });

  it('a stream that stops sending is a retryable Timeout', async () => {
    const step = await stepAgainst(
      () => ({ events: [event({ role: 'assistant', content: 'Half ' })], after: 'hang' }),
      300,
    );
    const failure = await failureOf(activity().run(step.callModel, hello));
    expect(failure.type).toBe('ModelCall.Timeout');
    expect(failure.nonRetryable).toBe(false);
  });

  it('a cancelled step (a rollback) stops its stream and ends the attempt with no text', async () => {
    const { replies, seen } = recordingReplies();
    const step = await stepAgainst(
      () => ({ events: [event({ role: 'assistant', content: 'Half ' })], after: 'hang' }),
      5_000,
      {
        replies,
      },
    );
    const env = activity();
    const running = env.run(step.callModel, hello);
    while (seen.deltas.length === 0) await new Promise((r) => setTimeout(r, 10));
    env.cancel();
    await expect(running).rejects.toBeInstanceOf(CancelledFailure);
    expect(seen.finals).toEqual(['']);
  });
});

describe('classifyModelError and retryAfterMs', () => {
  it('retries an error that did not come from the provider', () => {
    const result = classifyModelError(new TypeError('fetch body broke'));
    expect(result).toBeInstanceOf(ApplicationFailure);
    expect(result).toMatchObject({ type: 'ModelCall.Unexpected', nonRetryable: false });
  });

  it('passes an ApplicationFailure through unchanged', () => {
    const failure = ApplicationFailure.create({ type: 'X', message: 'x' });
    expect(classifyModelError(failure)).toBe(failure);
  });

  it('reads retry-after-ms, retry-after seconds and retry-after HTTP dates', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '1500' }), now)).toBe(1_500);
    expect(retryAfterMs(new Headers({ 'retry-after': '7' }), now)).toBe(7_000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:30 GMT' }), now)).toBe(30_000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(retryAfterMs(new Headers({}), now)).toBeUndefined();
  });
});

describe('the default tool catalog', () => {
  it('offers the real registry schemas when no catalog is injected', async () => {
    server = await fakeServer(() => completion({ content: 'ok' }));
    const openai = createOpenAIClient({ apiKey: API_KEY, baseURL: server.baseURL, timeoutMs: 5_000 });
    await createModelStep({ openai, model: MODEL }).callModel({ agent: 'billing', messages: hello.messages });
    const tools = server.requests[0]!.tools as Array<{ function: { name: string; parameters: any } }>;
    const refund = tools.find((t) => t.function.name === 'process_refund')!.function.parameters;
    expect(refund).toMatchObject({
      type: 'object',
      properties: { order_id: {}, amount: { type: 'number' }, reason: {} },
    });
    expect(refund.required).toEqual(expect.arrayContaining(['order_id', 'amount']));
  });
});
