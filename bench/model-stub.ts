/**
 * The benchmark's model: an OpenAI-compatible Chat Completions endpoint on loopback that answers
 * with the offline model's decisions (`decide` from offline-model/policy.ts, so the seed's
 * scenarios take the same path as in the demo and the tests) after a configurable delay that stands
 * for the model's thinking time. Its own small server rather than a proxy in front of the offline
 * model: one HTTP hop, as with a real provider, and the offline model stays as it is.
 *
 * The delay is changed between measurements with `POST /control {"latencyMs": 300}`, so one stub
 * serves both systems at the same setting. It runs in a child process (bench/model-stub-main.ts),
 * like a real provider, so its work does not share an event loop with the worker being measured.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

import { decide, sendJson as send, type WireRequest } from '../offline-model';

export interface ModelStub {
  /** For the `openai` client, e.g. `http://127.0.0.1:40123/v1`. */
  baseURL: string;
  port: number;
  close(): Promise<void>;
}

export async function startModelStub(opts: { port?: number; latencyMs?: number } = {}): Promise<ModelStub> {
  let latencyMs = opts.latencyMs ?? 0;
  let responses = 0;

  const answer = (body: { model?: string } & WireRequest): Record<string, unknown> => {
    const decision = decide(body);
    responses += 1;
    const message =
      decision.kind === 'call'
        ? {
            role: 'assistant',
            content: null,
            refusal: null,
            tool_calls: [
              {
                id: `call_${responses}`,
                type: 'function',
                function: { name: decision.name, arguments: JSON.stringify(decision.args) },
              },
            ],
          }
        : { role: 'assistant', content: decision.text, refusal: null };
    return {
      id: `chatcmpl-bench-${responses}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model ?? 'bench',
      choices: [{ index: 0, message, logprobs: null, finish_reason: decision.kind === 'call' ? 'tool_calls' : 'stop' }],
      usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
    };
  };

  const server = createServer((req, res) => {
    readBody(req).then(
      (text) => {
        const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '');
        if (req.method === 'POST' && path === '/control') {
          const value = Number((JSON.parse(text || '{}') as { latencyMs?: unknown }).latencyMs);
          if (!Number.isFinite(value) || value < 0)
            return send(res, 400, { error: { message: 'latencyMs must be a number >= 0' } });
          latencyMs = value;
          return send(res, 200, { latencyMs });
        }
        if (req.method === 'POST' && path === '/v1/chat/completions') {
          const body = answer(JSON.parse(text) as WireRequest);
          // The delay after deciding: the stub's own CPU time is the same at every latency.
          if (latencyMs > 0) setTimeout(() => send(res, 200, body), latencyMs);
          else send(res, 200, body);
          return;
        }
        send(res, 404, { error: { message: `no route ${req.method} ${path}` } });
      },
      (err: unknown) => send(res, 400, { error: { message: String(err) } }),
    );
  });
  // Hundreds of concurrent keep-alive connections at the top of the concurrency sweep.
  server.maxConnections = 10_000;
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Set the stub's delay (from the benchmark process). */
export async function setStubLatency(baseURL: string, latencyMs: number): Promise<void> {
  const res = await fetch(baseURL.replace(/\/v1$/, '/control'), {
    method: 'POST',
    body: JSON.stringify({ latencyMs }),
  });
  if (!res.ok) throw new Error(`model stub refused latency ${latencyMs}: ${res.status} ${await res.text()}`);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
