/**
 * The command-line client as a person uses it: `client/cli.ts` run as a child process against a
 * private dev server, with an in-process desk worker on the offline model. Checks what is printed
 * (ids, UI link, run log, state, table, JSON) and how failures are reported: one line on stderr,
 * a distinct exit code, never a stack trace.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { freePort } from '../../scripts/dev-server';
import { createDeskRuntime, type DeskRuntime } from '../../worker/runtime';
import { queryTranscriptSource } from '../../activities/transcripts';
import { createDeskWorker } from '../../worker/worker';
import type { AgentReply, ConversationSnapshot } from '../../workflows/messages';
import { REPO, startPrivateServer, type PrivateServer } from '../helpers/e2e';
import { quietRuntime } from '../helpers/temporal-env';

jest.setTimeout(90_000);

let server: PrivateServer;
let shopDir: string;
let runtime: DeskRuntime;
let connection: NativeConnection;
let worker: Worker;
let workerRun: Promise<void>;

beforeAll(async () => {
  quietRuntime();
  server = await startPrivateServer();
  shopDir = mkdtempSync(path.join(tmpdir(), 'desk-cli-shop-'));
  // The offline model: no OpenAI settings, whatever the developer's shell has.
  const { OPENAI_API_KEY: _key, OPENAI_BASE_URL: _url, ...env } = process.env;
  runtime = await createDeskRuntime({
    shopDb: path.join(shopDir, 'shop.db'),
    env,
    transcripts: queryTranscriptSource(server.client),
  });
  connection = await NativeConnection.connect({ address: server.address });
  worker = await createDeskWorker({ connection, activities: runtime.activities });
  workerRun = worker.run();
}, 120_000);

afterAll(async () => {
  if (worker) {
    worker.shutdown();
    await workerRun;
  }
  await connection?.close();
  await runtime?.close();
  await server?.stop();
  if (shopDir) rmSync(shopDir, { recursive: true, force: true });
});

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm run client -- <args>`, through tsx directly (npm adds a second of start-up). */
function cli(
  args: string[],
  opts: { input?: string; address?: string; bin?: boolean; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const entry = opts.bin
    ? [path.join(REPO, 'client', 'bin.js')]
    : [path.join(REPO, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(REPO, 'client', 'cli.ts')];
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd: REPO,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: opts.address ?? server.address,
      TEMPORAL_NAMESPACE: 'default',
      DESK_DEBUG: '',
      ...opts.env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(opts.input ?? '');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`desk ${args.join(' ')} did not exit within 30 s\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A failure as the CLI reports it: one line on stderr, no stack trace, the given exit code. */
function expectFailure(result: CliResult, code: number, text: string | RegExp): void {
  expect({ code: result.code, stderr: result.stderr.trimEnd() }).toEqual({ code, stderr: expect.stringMatching(text) });
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(result.stderr).not.toMatch(/\n\s+at |Error:/);
}

/** Search attributes reach visibility asynchronously: ask (in process) until the query finds the id. */
async function waitForVisibility(query: string, id: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ids: string[] = [];
    for await (const info of server.client.workflow.list({ query })) ids.push(info.workflowId);
    if (ids.includes(id)) return;
    if (Date.now() > deadline) throw new Error(`${id} not found by ${query} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const SHIPPED = 'Has my order #12345 shipped?';
let id: string;

test('start with a message: the id, the UI link, the handoff with its reason and the reply from order', async () => {
  const r = await cli(['start', '--customer', 'alice', '--message', SHIPPED]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  id = /^conversation (conversation-alice-[0-9a-f]{8}) started for alice$/m.exec(r.stdout)?.[1] ?? '';
  expect(id).not.toBe('');
  expect(r.stdout).toContain(`ui: http://localhost:8233/namespaces/default/workflows/${id}`);
  expect(r.stdout).toMatch(/^ {2}HANDOFF receptionist -> order: \S.+$/m);
  expect(r.stdout).toMatch(/^ {2}\[order\] get_order_status\(order_id="12345"\) -> /m);
  expect(r.stdout).toMatch(/^order> .*12345.*shipped/m);
});

test('send --json: the reply object', async () => {
  const r = await cli(['send', id, 'Can you track it?', '--json']);
  expect(r.code).toBe(0);
  const reply = JSON.parse(r.stdout) as AgentReply;
  expect(reply).toMatchObject({ agent: 'order', turn: 2, text: expect.stringContaining('TRK-98765') });
  expect(reply.events.some((e) => e.type === 'tool_call' && e.tool === 'track_shipment')).toBe(true);
});

test('state and list: the path, and the conversation found by agent, customer and status', async () => {
  const state = await cli(['state', id]);
  expect(state.code).toBe(0);
  expect(state.stdout).toContain(`conversation ${id} (customer alice)`);
  expect(state.stdout).toMatch(/^path: receptionist -> order$/m);
  // Tokens and cost per agent: the offline model's counts are estimates, and it costs nothing.
  const json = JSON.parse((await cli(['state', id, '--json'])).stdout) as ConversationSnapshot;
  const { total, byAgent } = json.usage!;
  const n = (x: number) => x.toLocaleString('en-US');
  expect(state.stdout).toContain(
    `usage: ${total.steps} steps, tokens in ${n(total.inputTokens)} out ${n(total.outputTokens)} (estimated), cost $0`,
  );
  expect(Object.keys(byAgent).sort()).toEqual(['order', 'receptionist']);
  expect(byAgent.order!.steps + byAgent.receptionist!.steps).toBe(total.steps);
  expect(state.stdout).toContain(
    `  order: ${byAgent.order!.steps} step${byAgent.order!.steps === 1 ? '' : 's'}, tokens in ${n(byAgent.order!.inputTokens)} out ${n(byAgent.order!.outputTokens)} (estimated), cost $0`,
  );

  await waitForVisibility(`CurrentAgent = 'order' AND CustomerId = 'alice'`, id);
  // The usage memo reaches visibility on its own schedule: asked until the row shows this turn's tokens.
  const tokens = `${total.inputTokens}/${total.outputTokens} est`;
  let list: CliResult;
  const deadline = Date.now() + 10_000;
  do list = await cli(['list', '--agent', 'order', '--customer', 'alice', '--open']);
  while (!list.stdout.includes(tokens) && Date.now() < deadline);
  expect(list.code).toBe(0);
  const [head, ...rows] = list.stdout.trimEnd().split('\n');
  expect(head).toMatch(/^ID\s+CUSTOMER\s+AGENT\s+HANDOFFS\s+TOKENS\s+COST\s+STATUS\s+STARTED$/);
  const row = rows.find((r) => r.startsWith(`${id} `));
  expect(row).toMatch(
    new RegExp(
      `^${id}\\s+alice\\s+order\\s+1\\s+${tokens}\\s+\\$0\\s+running\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ$`,
    ),
  );
});

test('rollback, then state shows the receptionist and the rollback in the trail; history has the transcript', async () => {
  const rollback = await cli(['rollback', id, '--reason', 'wrong department']);
  expect(rollback.code).toBe(0);
  expect(rollback.stdout).toContain(`rollback requested for ${id}`);

  const [state, history] = await Promise.all([cli(['state', id, '--json']), cli(['history', id])]);
  expect(state.code).toBe(0);
  const snapshot = JSON.parse(state.stdout) as ConversationSnapshot & { id: string };
  expect(snapshot).toMatchObject({ id, customerId: 'alice', status: 'open', currentAgent: 'receptionist', turn: 2 });
  expect(snapshot.statistics.path).toBe('receptionist -> order -> receptionist');
  expect(snapshot.trail).toContainEqual(
    expect.objectContaining({ kind: 'rollback', from: 'order', to: 'receptionist', reason: 'wrong department' }),
  );

  expect(history.code).toBe(0);
  expect(history.stdout).toContain(`customer> ${SHIPPED}`);
  expect(history.stdout).toContain('customer> Can you track it?');
  expect(history.stdout).toMatch(/^ {2}\[receptionist\] transfer_to_order\(reason=".+"\)$/m);
  expect(history.stdout).toMatch(/^order> /m);
  expect(history.stdout).toMatch(/^ {2}\* .*wrong department/m);
});

test('DESK_EXECUTION=local: the conversation runs its model steps locally (state says so); rollback also writes the interrupt when the shop database is here', async () => {
  const shopDb = path.join(shopDir, 'shop.db');
  const env = { DESK_EXECUTION: 'local', SHOP_DB: shopDb };
  const started = await cli(['start', '--customer', 'alice', '--message', SHIPPED], { env });
  expect(started.code).toBe(0);
  const localId = /^conversation (conversation-alice-[0-9a-f]{8}) started for alice$/m.exec(started.stdout)?.[1] ?? '';
  expect(started.stdout).toMatch(/^order> .*12345.*shipped/m);
  const state = await cli(['state', localId], { env });
  expect(state.stdout).toContain('model steps and reading tool calls: local activities');

  const before = new Date().toISOString();
  const rollback = await cli(['rollback', localId, '--reason', 'operator override', '--json'], { env });
  expect(rollback.code).toBe(0);
  expect(JSON.parse(rollback.stdout)).toMatchObject({ id: localId, rollback: 'requested', interrupted: true });
  expect(await runtime.store.interrupts.newestAfter(localId, before)).toBeDefined();

  // A client on a machine without the shop database: the signal alone, said so, and no empty shop created.
  const absent = path.join(shopDir, 'elsewhere.db');
  const remote = await cli(['rollback', localId], { env: { SHOP_DB: absent } });
  expect(remote.code).toBe(0);
  expect(remote.stdout).toContain('hears it at its task heartbeat');
  expect(existsSync(absent)).toBe(false);
  const after = JSON.parse((await cli(['state', localId, '--json'])).stdout) as ConversationSnapshot;
  expect(after).toMatchObject({ execution: 'local', currentAgent: 'receptionist' });
  expect(after.statistics.rollbacks).toBe(2);
});

test('chat with piped input: replies labelled by agent, the handoff, /state, /rollback, /quit', async () => {
  const r = await cli(['chat'], {
    input: ['hello', SHIPPED, '/state', '/rollback testing', '/quit', 'never sent'].join('\n') + '\n',
  });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const chatId = /^conversation (conversation-alice-[0-9a-f]{8}) started for alice$/m.exec(r.stdout)?.[1];
  expect(chatId).toBeDefined();
  const out = r.stdout;
  const at = (text: string | RegExp) => (typeof text === 'string' ? out.indexOf(text) : (text.exec(out)?.index ?? -1));
  const order = [
    at('you> hello'),
    at(/^receptionist> /m),
    at(`you> ${SHIPPED}`),
    at(/^ {2}HANDOFF receptionist -> order: \S/m),
    at(/^order> /m),
    at('you> /state'),
    at(/^path: receptionist -> order$/m),
    at('you> /rollback testing'),
    at('rollback requested (testing)'),
    at('you> /quit'),
    at(`left conversation ${chatId}`),
  ];
  expect(order.every((i) => i >= 0)).toBe(true);
  expect([...order].sort((a, b) => a - b)).toEqual(order);
  expect(out).not.toContain('never sent');

  const state = await server.client.workflow.getHandle(chatId!).query<ConversationSnapshot>('state');
  expect(state).toMatchObject({ status: 'open', currentAgent: 'receptionist', turn: 2 });
  expect(state.trail.map((t) => t.kind)).toEqual(['handoff', 'rollback']);

  // An empty message reaches the workflow's validator, whose reason is printed.
  expectFailure(await cli(['send', chatId!, '   ']), 1, /^error: message rejected: the message is empty$/m);
});

test('end, then send: the conversation is closed (exit 2)', async () => {
  const end = await cli(['end', id]);
  expect(end.code).toBe(0);
  expect(end.stdout).toContain(`conversation ${id} ended`);
  expectFailure(await cli(['send', id, 'hello again']), 2, new RegExp(`^error: conversation ${id} is closed`));
});

test('unknown id, bad --agent, unreachable server: one line each, distinct exit codes', async () => {
  const nobody = `127.0.0.1:${await freePort()}`;
  const [unknown, badAgent, unreachable, help] = await Promise.all([
    cli(['state', 'conversation-nobody-00000000']),
    cli(['list', '--agent', 'sales']),
    cli(['send', 'conversation-alice-00000000', 'hi'], { address: nobody }),
    cli(['--help'], { bin: true }),
  ]);
  expectFailure(unknown, 2, /^error: no conversation with id conversation-nobody-00000000$/);
  expectFailure(badAgent, 1, /--agent.*'sales'.*receptionist, order, billing, tech/);
  expectFailure(unreachable, 3, new RegExp(`^error: cannot reach Temporal at ${nobody}.*npm start`));
  // The package's `desk` bin runs under plain node.
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/^Usage: desk \[options\] \[command\]/);
  for (const command of ['start', 'send', 'chat', 'rollback', 'state', 'history', 'end', 'list'])
    expect(help.stdout).toMatch(new RegExp(`^ {2}${command} `, 'm'));
});

test('a refund above the limit: it waits, `approvals` lists it, `reject` and `approve --by` decide, one refund; bad decisions get one line', async () => {
  const ask = "I'd like a refund for order #86420, the projector arrived broken";
  const approvers = { DESK_APPROVERS: 'sam.supervisor,kim' };
  const conversations: string[] = [];
  // Turn 1, step 2 (billing checks the order first), call 0.
  for (let i = 0; i < 2; i++) {
    const r = await cli(['start', '--customer', 'bob', '--message', ask], { env: approvers });
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(
      /^ {2}APPROVAL NEEDED apr-1-2-0: refund \$450\.00 for order 86420 waits for a supervisor/m,
    );
    expect(r.stdout).toMatch(
      /^billing> \(offline model\) A refund of \$450\.00 for order #86420 needs a supervisor's approval \(request apr-1-2-0\)/m,
    );
    conversations.push(/^conversation (conversation-bob-[0-9a-f]{8}) started/m.exec(r.stdout)?.[1] ?? '');
  }
  const [approveIn, rejectIn] = conversations as [string, string];
  for (const c of conversations) await waitForVisibility(`PendingApprovals > 0`, c);

  const listed = await cli(['approvals']);
  expect(listed.code).toBe(0);
  expect(listed.stdout.split('\n')[0]).toMatch(
    /^CONVERSATION +APPROVAL +CUSTOMER +ORDER +AMOUNT +AGENT +AGE +STATUS +DEADLINE$/,
  );
  for (const c of conversations)
    expect(listed.stdout).toMatch(
      new RegExp(`^${c} +apr-1-2-0 +bob +86420 +\\$450\\.00 +billing +\\d+s +pending +\\d{4}-`, 'm'),
    );
  const json = JSON.parse((await cli(['approvals', '--json'])).stdout) as Array<{
    conversationId: string;
    amount: number;
  }>;
  expect(json.filter((r) => conversations.includes(r.conversationId)).map((r) => r.amount)).toEqual([450, 450]);

  // Refused, one line each, nothing changed.
  expectFailure(
    await cli(['approve', approveIn, 'apr-1-2-0', '--by', 'mallory']),
    1,
    /^error: decision rejected: mallory may not decide refunds; approvers: sam\.supervisor, kim$/,
  );
  expectFailure(
    await cli(['approve', approveIn, 'apr-1-2-0', '--by', 'bob']),
    1,
    /^error: decision rejected: bob is the customer of this conversation/,
  );
  expectFailure(
    await cli(['approve', approveIn, 'apr-9-9-9', '--by', 'kim']),
    1,
    /^error: decision rejected: there is no approval apr-9-9-9 in this conversation$/,
  );
  expectFailure(
    await cli(['approve', approveIn, 'apr-1-2-0', '--by', '  ']),
    1,
    /^error: decision rejected: by: `by` is empty: say who decides$/,
  );
  expect(await runtime.store.listRefunds('86420')).toEqual([]);

  const rejected = await cli(['reject', rejectIn, 'apr-1-2-0', '--by', 'kim', '--note', 'outside the return window']);
  expect([rejected.code, rejected.stderr]).toEqual([0, '']);
  expect(rejected.stdout).toMatch(/^apr-1-2-0 rejected by kim: refund \$450\.00 for order 86420$/m);
  expect(rejected.stdout).toMatch(
    /^billing> A supervisor reviewed your refund of \$450\.00 for order #86420 and could not approve it/m,
  );

  const approved = await cli(['approve', approveIn, 'apr-1-2-0', '--by', 'sam.supervisor', '--note', 'photos checked']);
  expect([approved.code, approved.stderr]).toEqual([0, '']);
  expect(approved.stdout).toMatch(
    /^apr-1-2-0 approved by sam\.supervisor: refund \$450\.00 for order 86420 \(refund RF-\d+\)$/m,
  );
  expectFailure(
    await cli(['approve', approveIn, 'apr-1-2-0', '--by', 'kim']),
    1,
    /^error: decision rejected: approval apr-1-2-0 was already decided: approved by sam\.supervisor at /,
  );
  expect(await runtime.store.listRefunds('86420')).toEqual([expect.objectContaining({ amountCents: 45000 })]);

  const state = await cli(['state', approveIn]);
  expect(state.stdout).toMatch(
    /^ {2}turn 1 \S+ approval apr-1-2-0 approved by sam\.supervisor: refund \$450\.00 for order 86420 \(photos checked\)$/m,
  );
  expect(state.stdout).toMatch(
    /^decided approvals:\n {2}apr-1-2-0 approved by sam\.supervisor at \S+: refund \$450\.00 for order 86420, refund RF-\d+ \(photos checked\)$/m,
  );
});
