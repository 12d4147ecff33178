/**
 * The offline model's HTTP face: a small OpenAI-compatible server on loopback (node:http, no
 * framework) so the desk talks to it through the real `openai` client exactly as it would talk to
 * OpenAI, Azure or Ollama. `POST /v1/chat/completions` answers with what `policy.ts` decides, as
 * one JSON body or, for `stream: true`, as server-sent chunks (stream.ts); `GET /v1/models` lists
 * the one model. Errors use OpenAI's error body shape
 * so the client raises the same `APIError` subclasses.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { z } from 'zod';

import { agentFor, decide, type WireRequest } from './policy';
import { completionChunks, sendEventStream, type CompletionBody } from './stream';

export const OFFLINE_MODEL_ID = 'offline-desk-model';

export interface OfflineModelOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Loopback by default: the stand-in has no authentication. */
  host?: string;
  /** Called with one line per answered request (for the CLI); silent by default. */
  log?: (line: string) => void;
  /** Pause between streamed chunks, in milliseconds (OFFLINE_MODEL_CHUNK_DELAY_MS); 0 by default. */
  chunkDelayMs?: number;
}

export interface OfflineModel {
  /** The `baseURL` for the `openai` client, e.g. `http://127.0.0.1:4010/v1`. */
  baseURL: string;
  close(): Promise<void>;
}

/** Large enough for the desk's bounded transcript (Temporal caps payloads at 2 MB). */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

const requestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z
    .array(
      z.looseObject({
        role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
        content: z.unknown().optional(),
        tool_calls: z
          .array(
            z.looseObject({ id: z.string(), function: z.looseObject({ name: z.string(), arguments: z.string() }) }),
          )
          .nullish(),
        tool_call_id: z.string().optional(),
      }),
    )
    .min(1),
  tools: z
    .array(z.looseObject({ type: z.string().optional(), function: z.looseObject({ name: z.string() }).optional() }))
    .nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
});

/** What a route answers: one JSON body, or the chunks of a streamed answer. */
type Answer = { json: Record<string, unknown> } | { events: Array<Record<string, unknown>> };

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = 'invalid_request_error',
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

export async function startOfflineModel(opts: OfflineModelOptions = {}): Promise<OfflineModel> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? (() => {});
  const chunkDelayMs = opts.chunkDelayMs ?? 0;
  // Counters per server: response and tool-call ids are unique for this server's lifetime.
  let responses = 0;
  let toolCalls = 0;

  function completion(body: z.infer<typeof requestSchema>): CompletionBody & Record<string, unknown> {
    const request = body as unknown as WireRequest;
    const decision = decide(request);
    const agent = agentFor(new Set((body.tools ?? []).flatMap((t) => (t.function ? [t.function.name] : []))));
    responses += 1;
    const promptChars = JSON.stringify(body.messages).length;
    let message: CompletionBody['choices'][number]['message'];
    let finishReason: 'stop' | 'tool_calls';
    if (decision.kind === 'call') {
      toolCalls += 1;
      const args = JSON.stringify(decision.args);
      message = {
        role: 'assistant',
        content: null,
        refusal: null,
        tool_calls: [{ id: `call_${toolCalls}`, type: 'function', function: { name: decision.name, arguments: args } }],
      };
      finishReason = 'tool_calls';
      log(`${agent}: ${decision.name} ${args}`);
    } else {
      message = { role: 'assistant', content: decision.text, refusal: null };
      finishReason = 'stop';
      log(`${agent}: reply ${JSON.stringify(decision.text)}`);
    }
    const completionChars = JSON.stringify(message).length;
    // Rough token counts (4 characters a token), honestly marked: `estimated` is this server's own
    // field in `usage`, read by the model step (activities/model.ts) and shown as "estimated".
    const promptTokens = Math.ceil(promptChars / 4);
    const completionTokens = Math.ceil(completionChars / 4);
    return {
      id: `chatcmpl-offline-${responses}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      system_fingerprint: null,
      choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
        estimated: true,
      },
    };
  }

  async function route(req: IncomingMessage): Promise<Answer> {
    const path = new URL(req.url ?? '/', 'http://offline').pathname.replace(/\/+$/, '');
    if (path === '/v1/models') {
      if (req.method !== 'GET') throw new HttpError(405, `Method ${req.method} not allowed on ${path}`);
      return {
        json: {
          object: 'list',
          data: [{ id: OFFLINE_MODEL_ID, object: 'model', created: 0, owned_by: 'offline-model' }],
        },
      };
    }
    if (path === '/v1/chat/completions') {
      if (req.method !== 'POST') throw new HttpError(405, `Method ${req.method} not allowed on ${path}`);
      const parsed = requestSchema.safeParse(await readJson(req));
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const where = issue?.path.join('.') || 'body';
        throw new HttpError(
          400,
          `Invalid request: ${where}: ${issue?.message ?? 'invalid'}`,
          'invalid_request_error',
          where,
        );
      }
      const answer = completion(parsed.data);
      if (!parsed.data.stream) return { json: answer };
      return { events: completionChunks(answer, { includeUsage: parsed.data.stream_options?.include_usage === true }) };
    }
    throw new HttpError(
      404,
      `Unknown path ${path}: the offline model serves /v1/chat/completions and /v1/models`,
      'invalid_request_error',
      null,
      'not_found',
    );
  }

  const server = createServer((req, res) => {
    route(req).then(
      (answer) => ('json' in answer ? send(res, 200, answer.json) : sendEventStream(res, answer.events, chunkDelayMs)),
      (err: unknown) => {
        const e =
          err instanceof HttpError ? err : new HttpError(500, `Offline model failure: ${String(err)}`, 'server_error');
        send(res, e.status, { error: { message: e.message, type: e.type, param: e.param, code: e.code } });
      },
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    baseURL: `http://${urlHost}:${port}/v1`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive connections from the openai client would hold close() open.
        server.closeAllConnections();
      }),
  };
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Past the cap the rest is drained and dropped, so the 413 can still be sent.
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, `Request body larger than ${MAX_BODY_BYTES} bytes`));
        return;
      }
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new HttpError(400, 'The request body is not valid JSON'));
      }
    });
    req.on('error', reject);
  });
}

/** A JSON response, unless one was already sent or the client went away. */
export function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
