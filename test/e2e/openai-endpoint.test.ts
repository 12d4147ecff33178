/**
 * The OpenAI path: a worker configured with OPENAI_BASE_URL / OPENAI_API_KEY / OPENAI_MODEL talks
 * to "some OpenAI-compatible server" through the real `openai` client. The server here is a small
 * node:http front, owned by the test, that records every request and either answers itself (401,
 * 429) or passes the request on to the offline model, started on its own as a stand-in for a real
 * provider. Checked: what arrives at the server (key, model name, how many requests), and what the
 * customer sees when the provider misbehaves (a rejected key, a rate limit).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sendMessage, startWithMessage } from '../../client/conversations';
import { startOfflineModel, type OfflineModel } from '../../offline-model';
import { CANNED } from '../../workflows/conversation';
import { stateQuery, type AgentReply } from '../../workflows/messages';
import { spawnWorker, startPrivateServer, type PrivateServer, type WorkerProcess } from '../helpers/e2e';

jest.setTimeout(90_000);

const API_KEY = 'test-key';
const MODEL = 'some-model';

interface SeenRequest {
  at: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: { model?: string; messages?: unknown[] } & Record<string, unknown>;
}

type Answer = { status: number; headers?: Record<string, string>; body: unknown } | 'forward';

interface FakeProvider {
  baseURL: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

let server: PrivateServer;
let offline: OfflineModel;
let shopDir: string;
let worker: WorkerProcess | undefined;
let fake: FakeProvider | undefined;

beforeAll(async () => {
  [server, offline] = await Promise.all([startPrivateServer(), startOfflineModel()]);
}, 120_000);

afterAll(async () => {
  await offline?.close();
  await server?.stop();
});

beforeEach(() => {
  shopDir = mkdtempSync(path.join(tmpdir(), 'desk-e2e-openai-'));
});

afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  await fake?.close();
  fake = undefined;
  rmSync(shopDir, { recursive: true, force: true });
});

/**
 * An OpenAI-compatible server on loopback that records every request; `answer` decides each one
 * (the n-th, from 0): an answer of its own, or 'forward' to the offline model.
 */
async function startFakeProvider(answer: (request: SeenRequest, n: number) => Answer): Promise<FakeProvider> {
  const requests: SeenRequest[] = [];
  const http: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const seen: SeenRequest = {
        at: Date.now(),
        method: req.method ?? '',
        path: new URL(req.url ?? '/', 'http://fake').pathname,
        headers: req.headers,
        body: raw ? (JSON.parse(raw) as SeenRequest['body']) : {},
      };
      requests.push(seen);
      const decided = answer(seen, requests.length - 1);
      const reply = async (): Promise<{ status: number; headers?: Record<string, string>; text: string }> => {
        if (decided !== 'forward')
          return { status: decided.status, headers: decided.headers, text: JSON.stringify(decided.body) };
        const upstream = await fetch(`${offline.baseURL}${seen.path.replace(/^\/v1/, '')}`, {
          method: seen.method,
          headers: { 'content-type': 'application/json' },
          body: seen.method === 'GET' ? undefined : raw,
        });
        return { status: upstream.status, text: await upstream.text() };
      };
      reply().then(
        ({ status, headers, text }) => {
          res.writeHead(status, { 'content-type': 'application/json', ...headers });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message: String(err), type: 'server_error', param: null, code: null } }));
        },
      );
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}

async function startWorker(baseURL: string): Promise<WorkerProcess> {
  worker = spawnWorker({
    TEMPORAL_ADDRESS: server.address,
    SHOP_DB: path.join(shopDir, 'shop.db'),
    OPENAI_BASE_URL: baseURL,
    OPENAI_API_KEY: API_KEY,
    OPENAI_MODEL: MODEL,
  });
  await worker.ready;
  const banner = worker.output();
  expect(banner).toContain(`mode=openai baseURL=${baseURL} model=${MODEL}`);
  expect(banner).toContain('key: set');
  expect(banner).not.toContain(API_KEY);
  return worker;
}

function modelSteps(reply: AgentReply) {
  return reply.events.filter((e) => e.type === 'model_step');
}

const openAIError = (message: string, type: string, code: string | null) => ({
  error: { message, type, param: null, code },
});

test('a worker on OPENAI_BASE_URL talks to the endpoint with the configured key and model', async () => {
  fake = await startFakeProvider(() => 'forward');
  await startWorker(fake.baseURL);

  const { handle, reply } = await startWithMessage(
    server.client,
    { customerId: 'alice' },
    'Has my order #12345 shipped?',
  );
  expect(reply.agent).toBe('order');
  expect(reply.text).toContain('TRK-98765');
  expect(reply.text).toContain('(offline model)');
  expect((await handle.query(stateQuery)).statistics.path).toBe('receptionist -> order');

  // One request per model step (receptionist, order, order), each with the key and the model name.
  expect(modelSteps(reply)).toHaveLength(3);
  expect(fake.requests).toHaveLength(3);
  for (const request of fake.requests) {
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/v1/chat/completions');
    expect(request.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request.body.model).toBe(MODEL);
  }
});

test('a rejected key (401): the desk apologises, does not retry, and the conversation stays usable', async () => {
  fake = await startFakeProvider(() => ({
    status: 401,
    body: openAIError(
      `Incorrect API key provided: ${API_KEY}. You can find your API key at https://platform.openai.com/account/api-keys.`,
      'invalid_request_error',
      'invalid_api_key',
    ),
  }));
  await startWorker(fake.baseURL);

  const { handle, reply } = await startWithMessage(
    server.client,
    { customerId: 'alice' },
    'Has my order #12345 shipped?',
  );
  expect(reply).toMatchObject({ agent: 'receptionist', text: CANNED.modelFailed, turn: 1 });
  expect(reply.events).toEqual([
    {
      type: 'model_step',
      agent: 'receptionist',
      outcome: 'failed',
      error: expect.stringContaining('ModelCall.Unauthorized'),
    },
  ]);
  // The provider's message echoes the key; the desk's does not pass it on.
  expect(JSON.stringify(reply)).not.toContain(API_KEY);
  // Non-retryable: one model step, one request.
  expect(fake.requests).toHaveLength(1);
  expect(fake.requests[0]!.headers.authorization).toBe(`Bearer ${API_KEY}`);

  // The conversation is still open: the next message gets the same apology, not a failure.
  const again = await sendMessage(handle, 'Hello? Are you there?');
  expect(again).toMatchObject({ agent: 'receptionist', text: CANNED.modelFailed, turn: 2 });
  expect(again.events).toEqual([
    expect.objectContaining({
      type: 'model_step',
      outcome: 'failed',
      error: expect.stringContaining('ModelCall.Unauthorized'),
    }),
  ]);
  expect(fake.requests).toHaveLength(2);
  const state = await handle.query(stateQuery);
  expect(state).toMatchObject({ status: 'open', currentAgent: 'receptionist', turn: 2 });
  const description = await handle.describe();
  expect(description.status.name).toBe('RUNNING');
});

test('a rate limit (429, retry-after: 1) once: the model step is retried and the customer gets the reply', async () => {
  fake = await startFakeProvider((_request, n) =>
    n === 0
      ? {
          status: 429,
          headers: { 'retry-after': '1' },
          body: openAIError('Rate limit reached for requests', 'requests', 'rate_limit_exceeded'),
        }
      : 'forward',
  );
  await startWorker(fake.baseURL);

  const { reply } = await startWithMessage(server.client, { customerId: 'alice' }, 'Hello, I have a question');
  expect(reply.agent).toBe('receptionist');
  expect(reply.text).toMatch(/^\(offline model\) Happy to help!/);
  // The retry is inside one model step: the run log shows one successful step.
  // Its usage is the endpoint's (the offline model behind the fake: estimated); `some-model` has no
  // price, so the step has no cost rather than a made-up one.
  expect(reply.events).toEqual([
    {
      type: 'model_step',
      agent: 'receptionist',
      outcome: 'reply',
      usage: {
        model: 'some-model',
        inputTokens: expect.any(Number),
        outputTokens: expect.any(Number),
        cachedInputTokens: 0,
        estimated: true,
      },
    },
  ]);
  expect(fake.requests).toHaveLength(2);
  // The retry waited for the server's retry-after (1 s), give or take the clocks' grain.
  expect(fake.requests[1]!.at - fake.requests[0]!.at).toBeGreaterThanOrEqual(900);
  for (const request of fake.requests) {
    expect(request.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request.body.model).toBe(MODEL);
  }
});
