/**
 * The web console's HTTP server (Fastify): the built page, a small JSON API over the client layer
 * (client/conversations.ts, client/commands/*) and one live stream (SSE) per open conversation.
 *
 * Every input is checked with the same zod schemas the workflow uses (workflows/schemas.ts) before
 * anything is sent, and every refusal is one JSON line `{ error }` the page shows, with nothing
 * changed. Mutating routes sit behind the token and cross-site checks of security.ts.
 */
import fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifySse from '@fastify/sse';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { AGENT_NAMES } from '../agents';
import { SEED_CUSTOMERS } from '../activities/store/seed';
import type { ReplyStreamReader } from '../activities/reply-stream';
import type { InterruptStore } from '../activities/store';
import { requestRollback } from '../client/rollback';
import { BOUNDS, DEFAULT_LIMITS, LIMIT_RANGES } from '../contract/limits';
import { endSignal } from '../workflows/messages';
import {
  checkDecisionShape,
  checkMessage,
  describeIssues,
  rollbackInputSchema,
  sendMessageInputSchema,
} from '../workflows/schemas';
import {
  InvalidInputError,
  checkCustomerId,
  conversationHandle,
  decideApproval,
  sendMessage,
  startConversation,
  startWithMessageSent,
  withEnvPolicy,
} from '../client/conversations';
import { listConversations, listQuery } from '../client/commands/list';
import { EXIT, explain } from '../client/commands/errors';
import { conversationIdArg } from '../client/commands/context';
import type { ConsoleMeta, ConversationRow, LiveEvent } from './api-types';
import { buildBundle } from './bundle';
import { LiveHub, readConversation } from './live';
import { allowedHosts, guard } from './security';

export interface ConsoleOptions {
  client: Client;
  token: string;
  /** Where it listens: 127.0.0.1 unless told otherwise (DESK_CONSOLE_HOST). */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  streams?: ReplyStreamReader;
  /** Where a rollback also goes, so a local model step in flight stops at once (client/rollback.ts). */
  interrupts?: InterruptStore;
  namespace?: string;
  temporalAddress?: string;
  /** Live polling interval (ms). */
  intervalMs?: number;
}

export interface RunningConsole {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

const HTTP_STATUS: Record<number, number> = { [EXIT.usage]: 400, [EXIT.notFound]: 404, [EXIT.unreachable]: 503 };

/** A refusal of the request itself, before anything was sent to a conversation. */
class Refused extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

function parse<T>(schema: z.ZodType<T>, raw: unknown, what: string): T {
  const parsed = schema.safeParse(raw ?? {});
  if (!parsed.success) throw new Refused(`${what}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

function conversationId(raw: string): string {
  try {
    return conversationIdArg(raw);
  } catch (err) {
    throw new Refused((err as Error).message);
  }
}

const listParams = z.strictObject({
  agent: z.enum(AGENT_NAMES).optional(),
  customer: z.string().optional(),
  status: z.enum(['any', 'open', 'closed']).optional(),
  pending: z.enum(['0', '1']).optional(),
  limit: z.coerce.number().int().min(1).max(200).optional(),
});

const startBody = z.strictObject({ customerId: z.string(), message: z.string().optional() });
const emptyBody = z.strictObject({});
const decisionBody = z.strictObject({
  decision: z.unknown(),
  by: z.unknown(),
  note: z.unknown().optional(),
});

export async function createConsole(opts: ConsoleOptions): Promise<RunningConsole> {
  const host = opts.host ?? '127.0.0.1';
  const bundle = await buildBundle();
  const hub = new LiveHub({ client: opts.client, streams: opts.streams, intervalMs: opts.intervalMs });
  const client = opts.client;

  // forceCloseConnections: close() also ends the live streams, which never end by themselves.
  const app = fastify({ logger: false, bodyLimit: 256 * 1024, forceCloseConnections: true });
  await app.register(fastifySse, { heartbeatInterval: 15_000 });

  let hosts: string[] = [];
  app.addHook('onRequest', async (req, reply) => guard({ token: opts.token, hosts })(req, reply));
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header(
      'content-security-policy',
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    );
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    return payload;
  });

  app.setErrorHandler(async (err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof Refused) return reply.code(err.status).send({ error: err.message });
    const fastifyError = err as { statusCode?: number; code?: string; message?: string };
    if (fastifyError.code?.startsWith('FST_'))
      return reply.code(fastifyError.statusCode ?? 400).send({ error: fastifyError.message ?? 'bad request' });
    // With the conversation's id, "not found" can be told apart from "closed".
    const conversationId = (req.params as { id?: string } | undefined)?.id;
    const explained = await explain(err, { client, address: opts.temporalAddress ?? '?', conversationId });
    return reply.code(HTTP_STATUS[explained.exitCode] ?? 500).send({ error: explained.message });
  });

  // The page.
  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(bundle.html));
  app.get('/assets/app.js', async (_req, reply) => reply.type('text/javascript; charset=utf-8').send(bundle.js));
  app.get('/assets/app.css', async (_req, reply) => reply.type('text/css; charset=utf-8').send(bundle.css));

  app.get('/api/meta', async (): Promise<ConsoleMeta> => ({
    agents: [...AGENT_NAMES],
    customers: SEED_CUSTOMERS.map((c) => c.id),
    namespace: opts.namespace ?? 'default',
    temporalAddress: opts.temporalAddress ?? '?',
    tokenRequired: true,
    maxMessageChars: LIMIT_RANGES.maxMessageChars[1],
    maxReasonChars: BOUNDS.maxReasonChars,
  }));

  // Conversations, found through the search attributes (the same query the CLI's `list` builds).
  app.get('/api/conversations', async (req): Promise<{ query: string; rows: ConversationRow[] }> => {
    const params = parse(listParams, req.query, 'bad filter');
    let query: string;
    try {
      query = listQuery({
        agent: params.agent,
        customer: params.customer || undefined,
        open: params.status === 'open',
        closed: params.status === 'closed',
        pendingApproval: params.pending === '1',
      });
    } catch (err) {
      throw new Refused((err as Error).message);
    }
    return { query, rows: await listConversations(client, query, params.limit ?? 50) };
  });

  app.post('/api/conversations', async (req, reply) => {
    const body = parse(startBody, req.body, 'bad start request');
    const input = withEnvPolicy({ customerId: checkCustomerId(body.customerId) });
    if (body.message === undefined || body.message.trim() === '') {
      const handle = await startConversation(client, input);
      return reply.code(201).send({ id: handle.workflowId });
    }
    // Against the limit the new conversation will have: a message its validator would refuse must
    // not leave an empty conversation behind.
    const checked = checkMessage({ text: body.message }, DEFAULT_LIMITS.maxMessageChars);
    if (!checked.ok) throw new InvalidInputError(`message rejected: ${checked.error}`);
    // Returns once the conversation has started and its message is on its way: the page watches the
    // reply arrive. A failure after that shows on the conversation's page (a problem line, or the
    // apology the workflow records), and is logged here.
    const { handle, reply: answered } = await startWithMessageSent(client, input, body.message);
    answered.catch((err: unknown) =>
      req.log.warn({ conversation: handle.workflowId, err: (err as Error).message }, 'first message failed'),
    );
    return reply.code(201).send({ id: handle.workflowId });
  });

  app.get<{ Params: { id: string } }>('/api/conversations/:id', async (req) =>
    readConversation(client, conversationId(req.params.id)),
  );

  app.get<{ Params: { id: string } }>('/api/conversations/:id/live', { sse: 'only' }, async (req, reply) => {
    const id = conversationId(req.params.id);
    await client.workflow.getHandle(id).describe(); // 404 now rather than an empty stream
    reply.sse.keepAlive();
    reply.sse.sendHeaders(); // now: a snapshot may take a moment, and the page should know it is connected
    const send = (event: LiveEvent) => {
      if (reply.sse.isConnected) reply.sse.send({ event: event.type, data: event }).catch(() => undefined);
    };
    const unsubscribe = hub.subscribe(id, send);
    reply.sse.onClose(unsubscribe);
  });

  app.post<{ Params: { id: string } }>('/api/conversations/:id/messages', async (req) => {
    const id = conversationId(req.params.id);
    const { text } = parse(sendMessageInputSchema, req.body, 'bad message');
    return sendMessage(conversationHandle(client, id), text);
  });

  app.post<{ Params: { id: string } }>('/api/conversations/:id/rollback', async (req) => {
    const id = conversationId(req.params.id);
    const { reason } = parse(rollbackInputSchema, req.body, 'bad rollback');
    const clean = reason?.toWellFormed().trim();
    if (clean && clean.length > BOUNDS.maxReasonChars)
      throw new Refused(`the reason is ${clean.length} characters long; the limit is ${BOUNDS.maxReasonChars}`);
    await requestRollback(conversationHandle(client, id), clean || undefined, opts.interrupts);
    return { id, rollback: 'requested', reason: clean || 'rollback requested' };
  });

  app.post<{ Params: { id: string } }>('/api/conversations/:id/end', async (req) => {
    const id = conversationId(req.params.id);
    parse(emptyBody, req.body, 'bad end request');
    await conversationHandle(client, id).signal(endSignal);
    return { id, ended: true };
  });

  app.post<{ Params: { id: string; approvalId: string } }>(
    '/api/conversations/:id/approvals/:approvalId',
    async (req) => {
      const id = conversationId(req.params.id);
      const body = parse(decisionBody, req.body, 'bad decision');
      const checked = checkDecisionShape({ approvalId: req.params.approvalId, ...body });
      if (!checked.ok) throw new Refused(`decision rejected: ${checked.error}`);
      return decideApproval(conversationHandle(client, id), checked.value);
    },
  );

  await app.listen({ host, port: opts.port ?? 0 });
  const port = (app.server.address() as { port: number }).port;
  hosts = allowedHosts(host, port);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  return {
    app,
    url,
    async close() {
      hub.close();
      await app.close();
    },
  };
}
