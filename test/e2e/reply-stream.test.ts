/**
 * Streamed replies end to end: a real dev server, a desk worker in its own process, the offline
 * model over HTTP streaming its answers in pieces, and this process reading the reply stream from
 * the shop database as another process does (`openReplyStreamReader`). Checked: the reply shows
 * up in pieces while the turn runs, a reader that connects mid-turn ends with exactly the text the
 * conversation recorded, and a model step whose stream breaks off and is retried shows its text
 * once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  foldReplyChunks,
  openReplyStreamReader,
  type ReplyChunk,
  type ReplyStreamReader,
} from '../../activities/reply-stream';
import { startWithMessage } from '../../client/conversations';
import type { ChatMessage } from '../../contract/transcript';
import { startOfflineModel, type OfflineModel } from '../../offline-model';
import { historyQuery } from '../../workflows/messages';
import { spawnWorker, usePrivateServer, type WorkerProcess } from '../helpers/e2e';

jest.setTimeout(120_000);

const server = usePrivateServer();
let dir: string;
let worker: WorkerProcess | undefined;
let reader: ReplyStreamReader | undefined;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'desk-e2e-stream-'));
});

afterEach(async () => {
  await reader?.close();
  reader = undefined;
  await worker?.stop();
  worker = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** Reads a conversation's chunks as the console would, every 20 ms, keeping every text it showed. */
function follow(reader: ReplyStreamReader, conversationId: string) {
  const chunks: ReplyChunk[] = [];
  const shown: string[] = [];
  let stop = false;
  const done = (async () => {
    let cursor = 0;
    while (!stop) {
      const more = await reader.since(conversationId, cursor);
      if (more.length > 0) {
        chunks.push(...more);
        cursor = more.at(-1)!.id;
        shown.push(foldReplyChunks(chunks).at(-1)?.text ?? '');
      }
      await sleep(20);
    }
  })();
  return {
    chunks,
    shown,
    async stop() {
      stop = true;
      await done;
    },
  };
}

/** What the conversation recorded from its model steps: each assistant message's text. */
async function recordedSteps(conversationId: string): Promise<string[]> {
  const history = await server.client.workflow.getHandle(conversationId).query(historyQuery);
  return history.flatMap((m: ChatMessage) => (m.role === 'assistant' ? [m.content ?? ''] : []));
}

test('a reply streams in pieces and folds to exactly the recorded reply, also for a reader that connects mid-turn', async () => {
  const shopDb = path.join(dir, 'shop.db');
  worker = spawnWorker({ TEMPORAL_ADDRESS: server.address, SHOP_DB: shopDb, OFFLINE_MODEL_CHUNK_DELAY_MS: '25' });
  await worker.ready;
  reader = await openReplyStreamReader({ SHOP_DB: shopDb });
  const conversationId = `conversation-alice-stream-${Date.now()}`;

  const live = follow(reader, conversationId);
  let late: ReturnType<typeof follow> | undefined;
  const turn = startWithMessage(server.client, { customerId: 'alice' }, 'Has my order #12345 shipped?', {
    workflowId: conversationId,
  });
  // A second reader (a browser reloading) that connects once the reply has begun to arrive.
  const lateReader = await openReplyStreamReader({ SHOP_DB: shopDb });
  try {
    while (!live.shown.some((text) => text.includes('(offline model)'))) await sleep(10);
    late = follow(lateReader, conversationId);
    const { reply } = await turn;
    await Promise.all([live.stop(), late.stop()]);
    // One last read: what both readers end with after the turn.
    for (const r of [live, late]) {
      const last = r.chunks.at(-1)?.id ?? 0;
      r.chunks.push(...(await reader.since(conversationId, last)));
    }

    expect(reply.agent).toBe('order');
    expect(reply.text).toContain('TRK-98765');
    const recorded = await recordedSteps(conversationId);
    for (const r of [live, late]) {
      const steps = foldReplyChunks(r.chunks);
      // Every model step of the turn (receptionist's handoff, order's lookup, order's reply), each
      // ending with exactly what the workflow recorded.
      expect(steps.map((s) => s.text)).toEqual(recorded);
      expect(steps.every((s) => s.final)).toBe(true);
      expect(steps.at(-1)!.text).toBe(reply.text);
    }
    // The reply arrived in several rows, and the live reader showed it growing before the turn ended.
    const replyStep = foldReplyChunks(live.chunks).at(-1)!.step;
    expect(live.chunks.filter((c) => c.step === replyStep && !c.final).length).toBeGreaterThan(1);
    const partial = live.shown.filter((text) => text.length > 0 && text.length < reply.text.length);
    expect(partial.length).toBeGreaterThan(0);
    for (const text of partial) expect(reply.text.startsWith(text)).toBe(true);
  } finally {
    await late?.stop();
    await lateReader.close();
  }
});

/**
 * An OpenAI-compatible front for the offline model that cuts the first streamed reply (the answer
 * with finish_reason "stop") half-way, as a provider whose connection drops would.
 */
async function cuttingProvider(
  upstream: OfflineModel,
): Promise<{ baseURL: string; cuts: number; close(): Promise<void> }> {
  const state = { cuts: 0 };
  const http: Server = createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      void (async () => {
        const answer = await fetch(`${upstream.baseURL}${(req.url ?? '').replace(/^\/v1/, '')}`, {
          method: req.method,
          headers: { 'content-type': 'application/json' },
          body: req.method === 'GET' ? undefined : Buffer.concat(body),
        });
        const text = await answer.text();
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
        if (state.cuts === 0 && text.includes('"finish_reason":"stop"')) {
          state.cuts++;
          const events = text.split('\n\n');
          for (const event of events.slice(0, Math.floor(events.length / 2))) res.write(`${event}\n\n`);
          await sleep(100);
          res.socket?.destroy();
          return;
        }
        res.end(text);
      })();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    get cuts() {
      return state.cuts;
    },
    close: () =>
      new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}

test('a stream that breaks off mid-reply is retried, and the reader shows the reply once', async () => {
  const offline = await startOfflineModel();
  const provider = await cuttingProvider(offline);
  try {
    const shopDb = path.join(dir, 'shop.db');
    worker = spawnWorker({
      TEMPORAL_ADDRESS: server.address,
      SHOP_DB: shopDb,
      OPENAI_BASE_URL: provider.baseURL,
      OPENAI_API_KEY: 'test-key',
    });
    await worker.ready;
    reader = await openReplyStreamReader({ SHOP_DB: shopDb });
    const conversationId = `conversation-alice-retry-${Date.now()}`;
    const { reply } = await startWithMessage(server.client, { customerId: 'alice' }, 'Has my order #12345 shipped?', {
      workflowId: conversationId,
    });
    expect(provider.cuts).toBe(1);

    const chunks = await reader.since(conversationId, 0);
    const replyStep = chunks.at(-1)!.step;
    const attempts = chunks.filter((c) => c.step === replyStep);
    // The first attempt streamed part of the reply and ended empty; the second streamed all of it.
    const first = attempts.filter((c) => c.attempt === 1);
    expect(
      first
        .filter((c) => !c.final)
        .map((c) => c.text)
        .join('').length,
    ).toBeGreaterThan(0);
    expect(first.filter((c) => c.final).map((c) => c.text)).toEqual(['']);
    expect(
      attempts
        .filter((c) => c.attempt === 2 && !c.final)
        .map((c) => c.text)
        .join(''),
    ).toBe(reply.text);

    const steps = foldReplyChunks(chunks);
    expect(steps.map((s) => s.text)).toEqual(await recordedSteps(conversationId));
    expect(steps.at(-1)).toEqual({ step: replyStep, attempt: 2, text: reply.text, final: true });
  } finally {
    await provider.close();
    await offline.close();
  }
});
