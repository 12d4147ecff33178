/**
 * The console's HTTP API refuses what it must, with one line and nothing changed: requests without
 * the token or with a wrong one, cross-site and cross-origin requests, non-JSON bodies, a foreign
 * Host (DNS rebinding), and input the workflow's own schemas refuse. Against a real desk (private
 * dev server, in-process worker, offline model), so "nothing changed" is checked on the
 * conversation itself and on the visibility list. Requests are real HTTP (node:http, which lets a
 * test set any header, Host and Origin included).
 */
import http from 'node:http';
import { createConsole, type RunningConsole } from '../../console/server';
import { consoleToken, sameToken } from '../../console/security';
import { conversationHandle, startWithMessage, type ConversationHandle } from '../../client/conversations';
import { historyQuery, stateQuery } from '../../workflows/messages';
import { useInProcessDesk } from '../helpers/e2e';

const TOKEN = 'console-api-test-token-0123';
const desk = useInProcessDesk();
let consoleServer: RunningConsole;
let alice: ConversationHandle;
let host: string;

beforeAll(async () => {
  consoleServer = await createConsole({ client: desk.server.client, token: TOKEN, port: 0 });
  host = new URL(consoleServer.url).host;
  alice = (await startWithMessage(desk.server.client, { customerId: 'alice' }, 'Has my order #12345 shipped?')).handle;
});
afterAll(async () => {
  await consoleServer?.close();
});

type Headers = Record<string, string>;
const good: Headers = { 'content-type': 'application/json', 'x-desk-token': TOKEN };

interface Response {
  statusCode: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json<T>(): T;
}

function request(method: string, url: string, headers: Headers = {}, body?: string): Promise<Response> {
  const target = new URL(url, consoleServer.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        method,
        hostname: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        headers: { host, ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({
            statusCode: res.statusCode ?? 0,
            headers: res.headers,
            body: text,
            json: <T>() => JSON.parse(text) as T,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const get = (url: string, headers: Headers = {}) => request('GET', url, headers);
const post = (url: string, body: unknown, headers: Headers = good) =>
  request('POST', url, headers, typeof body === 'string' ? body : JSON.stringify(body));

const messages = () => `/api/conversations/${alice.workflowId}/messages`;

/** What a refusal must leave untouched: the conversation's transcript and state, and which conversations exist. */
async function unchanged<T>(fn: () => Promise<T>, opts: { starts?: boolean } = { starts: true }): Promise<T> {
  const before = [await alice.query(historyQuery), await alice.query(stateQuery)];
  const ids = async () => {
    const found: string[] = [];
    for await (const w of desk.server.client.workflow.list({ query: "WorkflowType = 'conversation'" }))
      found.push(w.workflowId);
    return found.sort();
  };
  const existing = await ids();
  const result = await fn();
  expect([await alice.query(historyQuery), await alice.query(stateQuery)]).toEqual(before);
  // A start that slipped through would show in visibility within a second or so.
  if (opts.starts) await new Promise((r) => setTimeout(r, 1500));
  expect(await ids()).toEqual(existing);
  return result;
}

function refused(res: Response, status: number, error: RegExp): void {
  expect({ status: res.statusCode, body: res.json<{ error: string }>() }).toEqual({
    status,
    body: { error: expect.stringMatching(error) },
  });
}

describe('token and cross-site checks', () => {
  test('no token, a wrong token, a token in the wrong place: refused, nothing started or sent', async () => {
    await unchanged(async () => {
      const { 'x-desk-token': _, ...noToken } = good;
      refused(await post('/api/conversations', { customerId: 'alice' }, noToken), 401, /token is missing/);
      refused(await post(messages(), { text: 'hi' }, noToken), 401, /token is missing/);
      refused(await post(messages(), { text: 'hi' }, { ...good, 'x-desk-token': 'wrong' }), 403, /token is wrong/);
      refused(
        await post(messages(), { text: 'hi' }, { ...noToken, cookie: `x-desk-token=${TOKEN}` }),
        401,
        /token is missing/,
      );
      refused(
        await post(`/api/conversations/${alice.workflowId}/rollback`, { reason: 'x' }, noToken),
        401,
        /token is missing/,
      );
      refused(await post(`/api/conversations/${alice.workflowId}/end`, {}, noToken), 401, /token is missing/);
      refused(
        await post(
          `/api/conversations/${alice.workflowId}/approvals/apr-1-2-0`,
          { decision: 'approve', by: 'x' },
          noToken,
        ),
        401,
        /token is missing/,
      );
    });
  });

  test('cross-site, cross-origin, form-encoded and foreign-host requests are refused even with the token', async () => {
    await unchanged(async () => {
      refused(
        await post(messages(), { text: 'hi' }, { ...good, 'sec-fetch-site': 'cross-site' }),
        403,
        /cross-site request refused/,
      );
      refused(
        await post(messages(), { text: 'hi' }, { ...good, 'sec-fetch-site': 'same-site' }),
        403,
        /cross-site request refused/,
      );
      refused(
        await post(messages(), { text: 'hi' }, { ...good, origin: 'http://evil.example' }),
        403,
        /cross-origin request refused/,
      );
      refused(
        await post(messages(), 'text=hi', { ...good, 'content-type': 'application/x-www-form-urlencoded' }),
        415,
        /Content-Type must be application\/json/,
      );
      refused(
        await post(messages(), '{"text":"hi"}', { ...good, 'content-type': 'text/plain' }),
        415,
        /Content-Type must be application\/json/,
      );
      refused(
        await post(messages(), { text: 'hi' }, { ...good, host: `evil.example:${host.split(':')[1]}` }),
        421,
        /does not answer to host/,
      );
      // Reads too: a rebinding page must not read conversations.
      const read = await get('/api/conversations', { host: 'evil.example' });
      expect(read.statusCode).toBe(421);
    });
    // The same request from the page itself goes through.
    const ok = await post(
      messages(),
      { text: 'Has my order #12345 shipped?' },
      {
        ...good,
        origin: `http://${host}`,
        'sec-fetch-site': 'same-origin',
      },
    );
    expect(ok.statusCode).toBe(200);
    expect(ok.json<{ agent: string; text: string }>()).toMatchObject({
      agent: 'order',
      text: expect.stringContaining('TRK-98765'),
    });
  });

  test('the token: DESK_CONSOLE_TOKEN when set (at least 16 characters), a fresh random one otherwise', () => {
    expect(consoleToken({ DESK_CONSOLE_TOKEN: 'a-long-enough-secret' })).toEqual({
      token: 'a-long-enough-secret',
      generated: false,
    });
    expect(() => consoleToken({ DESK_CONSOLE_TOKEN: 'short' })).toThrow(/shorter than 16/);
    const a = consoleToken({});
    const b = consoleToken({});
    expect(a.generated).toBe(true);
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(a.token).not.toBe(b.token);
    expect([sameToken(a.token, a.token), sameToken(a.token, b.token), sameToken('', a.token)]).toEqual([
      true,
      false,
      false,
    ]);
  });
});

describe('input is checked with the API schemas; the error is one line and nothing changes', () => {
  test.each([
    ['a bad customer id', '/api/conversations', { customerId: 'al ice' }, /^invalid customer id "al ice"/],
    [
      'an unknown field at start',
      '/api/conversations',
      { customerId: 'alice', admin: true },
      /Unrecognized key: "admin"/,
    ],
    [
      "a first message over the new conversation's limit (nothing is started)",
      '/api/conversations',
      { customerId: 'alice', message: 'x'.repeat(8_001) },
      /^message rejected: the message is 8001 characters long; the limit is 8000$/,
    ],
    ['an empty message', 'messages', { text: '   ' }, /^message rejected: the message is empty$/],
    ['a message that is not a string', 'messages', { text: 42 }, /^bad message: text:/],
    ['an unknown field in a message', 'messages', { text: 'hi', role: 'system' }, /Unrecognized key: "role"/],
    [
      'a message over the conversation limit',
      'messages',
      { text: 'x'.repeat(8_001) },
      /^message rejected: the message is 8001 characters long; the limit is 8000$/,
    ],
    [
      'a rollback reason over 500 characters',
      'rollback',
      { reason: 'x'.repeat(501) },
      /the reason is 501 characters long; the limit is 500/,
    ],
    ['a rollback with a wrong field', 'rollback', { why: 'x' }, /^bad rollback: Unrecognized key: "why"/],
    ['an end with a body', 'end', { now: true }, /^bad end request/],
    [
      'a decision with no one deciding',
      'approvals/apr-1-2-0',
      { decision: 'approve', by: ' ' },
      /^decision rejected: by: `by` is empty/,
    ],
    [
      'a decision that is neither',
      'approvals/apr-1-2-0',
      { decision: 'maybe', by: 'sam' },
      /^decision rejected: decision: decision must be 'approve' or 'reject'/,
    ],
    [
      'a decision on an unknown approval',
      'approvals/apr-9-9-9',
      { decision: 'approve', by: 'sam' },
      /^decision rejected: there is no approval apr-9-9-9/,
    ],
    ['malformed JSON', 'messages', '{"text": ', /JSON/],
  ])('%s', async (_what, target, body, error) => {
    const url = target.startsWith('/') ? target : `/api/conversations/${alice.workflowId}/${target}`;
    await unchanged(async () => refused(await post(url, body), 400, error), { starts: target.startsWith('/') });
  });

  test("an unknown conversation is a 404 with the CLI's words", async () => {
    refused(
      await post('/api/conversations/conversation-nobody-00000000/end', {}),
      404,
      /^no conversation with id conversation-nobody-00000000$/,
    );
    const res = await get('/api/conversations/conversation-nobody-00000000');
    expect(res.statusCode).toBe(404);
  });

  test('a bad list filter is refused; a good one is the visibility query the CLI builds', async () => {
    const bad = await get('/api/conversations?agent=boss');
    expect(bad.statusCode).toBe(400);
    const ok = await get('/api/conversations?agent=order&customer=alice&status=open&pending=1');
    expect(ok.json<{ query: string }>().query).toBe(
      "WorkflowType = 'conversation' AND CurrentAgent = 'order' AND CustomerId = 'alice' AND ExecutionStatus = 'Running' AND PendingApprovals > 0",
    );
  });
});

test('the page and its assets are served with a strict content security policy', async () => {
  const page = await get('/');
  expect(page.statusCode).toBe(200);
  expect(page.body).toContain('<script type="module" src="/assets/app.js">');
  expect(page.headers['content-security-policy']).toMatch(/default-src 'self'.*frame-ancestors 'none'/);
  const js = await get('/assets/app.js');
  expect(js.statusCode).toBe(200);
  expect(js.body.length).toBeGreaterThan(5_000);
  await expect(conversationHandle(desk.server.client, alice.workflowId).query(stateQuery)).resolves.toMatchObject({
    status: 'open',
  });
});
