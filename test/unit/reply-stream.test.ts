/**
 * The reply stream's side channel: the reading rule (`foldReplyChunks`: per step the latest
 * attempt wins, a final row is the whole text, nothing shows twice), the writer (batched rows, a
 * final row per attempt, failures logged and never thrown, never waited on for long, old rows
 * pruned) and the reader (`since` with a cursor, per conversation), on SQLite and PostgreSQL.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import {
  createReplyStreamWriter,
  foldReplyChunks,
  openReplyStreamReader,
  replyStreamReader,
  type ReplyChunk,
  type ReplyStreamReader,
} from '../../activities/reply-stream';
import type { ReplyChunkStore } from '../../activities/store';
import { BACKENDS, openTestShop, useShopBackends, type TestShop } from '../helpers/shop-backends';

useShopBackends();

let nextId = 0;
function chunk(step: string, attempt: number, seq: number, text: string, final = false): ReplyChunk {
  return { id: ++nextId, conversationId: 'c-1', step, attempt, seq, text, final };
}

describe('foldReplyChunks', () => {
  it('joins a step’s deltas in seq order, and a final row replaces them', () => {
    const a = chunk('r/1', 1, 1, 'world');
    const b = chunk('r/1', 1, 0, 'Hello ');
    expect(foldReplyChunks([a, b])).toEqual([{ step: 'r/1', attempt: 1, text: 'Hello world', final: false }]);
    const done = chunk('r/1', 1, 2, 'Hello world!', true);
    expect(foldReplyChunks([a, b, done])).toEqual([{ step: 'r/1', attempt: 1, text: 'Hello world!', final: true }]);
  });

  it('shows only the latest attempt of a retried step, even when the older attempt writes late', () => {
    const first = [chunk('r/1', 1, 0, 'Your order '), chunk('r/1', 1, 1, 'has ship')];
    const retry = [chunk('r/1', 2, 0, 'Your order '), chunk('r/1', 2, 1, 'has shipped.')];
    const late = chunk('r/1', 1, 2, 'ped with UPS.');
    expect(foldReplyChunks([...first, ...retry, late])).toEqual([
      { step: 'r/1', attempt: 2, text: 'Your order has shipped.', final: false },
    ]);
    // The failed attempt's own final row ('') does not hide the retry's text either.
    const failedFinal = chunk('r/1', 1, 3, '', true);
    expect(foldReplyChunks([...first, ...retry, late, failedFinal])[0]!.text).toBe('Your order has shipped.');
  });

  it('shows a chunk read twice (a reconnecting reader) once', () => {
    const rows = [chunk('r/1', 1, 0, 'Hi '), chunk('r/1', 1, 1, 'there')];
    expect(foldReplyChunks([...rows, ...rows])[0]!.text).toBe('Hi there');
  });

  it('keeps steps in the order they first appeared, and a failed step shows nothing', () => {
    const rows = [
      chunk('r/1', 1, 0, 'Let me check.'),
      chunk('r/1', 1, 1, 'Let me check.', true),
      chunk('r/2', 1, 0, 'Half a rep'),
      chunk('r/2', 1, 1, '', true),
      chunk('r/3', 1, 0, 'Done.'),
    ];
    expect(foldReplyChunks(rows.reverse()).map((s) => [s.step, s.text, s.final])).toEqual([
      ['r/1', 'Let me check.', true],
      ['r/2', '', true],
      ['r/3', 'Done.', false],
    ]);
  });
});

describe('the writer without a database', () => {
  function failingStore(fail: 'reject' | 'hang'): ReplyChunkStore & { calls: number } {
    const store = {
      calls: 0,
      append: () => {
        store.calls++;
        return fail === 'reject' ? Promise.reject(new Error('disk full')) : new Promise<void>(() => undefined);
      },
      since: () => Promise.resolve([]),
      prune: () => Promise.resolve(0),
    };
    return store;
  }
  const key = { conversationId: 'c-1', step: 'r/1', attempt: 1 };

  it('logs a failing write once, drops later deltas, and finish still resolves', async () => {
    const store = failingStore('reject');
    const lines: string[] = [];
    const step = createReplyStreamWriter(store, { flushMs: 1, log: (l) => lines.push(l) }).begin(key);
    step.push('Hello ');
    await sleep(20);
    step.push('world');
    await sleep(20);
    await expect(step.finish('Hello world')).resolves.toBeUndefined();
    expect(store.calls).toBe(2); // the first batch, then the final row; the second delta was dropped
    expect(lines).toEqual([
      expect.stringMatching(/reply stream: writing c-1 r\/1 failed, deltas dropped: disk full/),
      expect.stringMatching(/final row of c-1 r\/1 failed: disk full/),
    ]);
  });

  it('waits for a hanging database only finishTimeoutMs', async () => {
    const lines: string[] = [];
    const step = createReplyStreamWriter(failingStore('hang'), {
      finishTimeoutMs: 50,
      log: (l) => lines.push(l),
    }).begin(key);
    const started = Date.now();
    await step.finish('Hi');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(lines).toEqual([expect.stringMatching(/still pending after 50 ms/)]);
  });
});

describe.each(BACKENDS)('the reply stream on %s', (backend) => {
  let shop: TestShop;
  let reader: ReplyStreamReader;

  beforeEach(async () => {
    shop = await openTestShop(backend);
    reader = replyStreamReader(shop.store.replies, async () => undefined);
  });

  afterEach(async () => {
    await shop.dispose();
  });

  it('writes deltas in batches, not a row per token, and ends with a final row the reader folds to the text', async () => {
    const writer = createReplyStreamWriter(shop.store.replies, { flushMs: 20 });
    const step = writer.begin({ conversationId: 'conv-a', step: 'run-1/3', attempt: 1 });
    const words = 'Your order 12345 has shipped with UPS, tracking number TRK-98765.'.split(/(?<= )/);
    for (const word of words.slice(0, 5)) step.push(word);
    await sleep(100); // a flush happens in between
    for (const word of words.slice(5)) step.push(word);
    await step.finish(words.join(''));

    const rows = await reader.since('conv-a', 0);
    const deltas = rows.filter((r) => !r.final);
    expect(deltas.length).toBeGreaterThanOrEqual(1);
    expect(deltas.length).toBeLessThan(words.length);
    expect(deltas.map((r) => r.text).join('')).toBe(words.join(''));
    expect(rows.at(-1)).toMatchObject({ final: true, text: words.join(''), step: 'run-1/3', attempt: 1 });
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i));
    expect(foldReplyChunks(rows)).toEqual([{ step: 'run-1/3', attempt: 1, text: words.join(''), final: true }]);
  });

  it('pages with a cursor, oldest first, one conversation at a time', async () => {
    const writer = createReplyStreamWriter(shop.store.replies, { flushMs: 1 });
    for (const [conversationId, n] of [
      ['conv-a', 1],
      ['conv-b', 1],
      ['conv-a', 2],
    ] as const) {
      const step = writer.begin({ conversationId, step: `run/${n}`, attempt: 1 });
      step.push(`${conversationId} step ${n}`);
      await sleep(20);
      await step.finish(`${conversationId} step ${n}.`);
    }
    const all = await reader.since('conv-a', 0);
    expect(all.map((r) => [r.step, r.text])).toEqual([
      ['run/1', 'conv-a step 1'],
      ['run/1', 'conv-a step 1.'],
      ['run/2', 'conv-a step 2'],
      ['run/2', 'conv-a step 2.'],
    ]);
    expect(all.every((r, i) => i === 0 || r.id > all[i - 1]!.id)).toBe(true);
    const firstPage = await reader.since('conv-a', 0, 3);
    expect(firstPage).toEqual(all.slice(0, 3));
    expect(await reader.since('conv-a', firstPage.at(-1)!.id)).toEqual(all.slice(3));
    expect(await reader.since('conv-a', all.at(-1)!.id)).toEqual([]);
    expect((await reader.since('conv-b', 0)).map((r) => r.text)).toEqual(['conv-b step 1', 'conv-b step 1.']);
  });

  it('a retried attempt supersedes the failed one: the fold shows the retry’s text once', async () => {
    const writer = createReplyStreamWriter(shop.store.replies, { flushMs: 1 });
    const first = writer.begin({ conversationId: 'conv-r', step: 'run/5', attempt: 1 });
    first.push('Your refund of $20 ');
    await sleep(20);
    await first.finish(''); // the attempt failed mid-stream
    const seen = await reader.since('conv-r', 0);
    expect(foldReplyChunks(seen)[0]).toMatchObject({ attempt: 1, text: '', final: true });

    const retry = writer.begin({ conversationId: 'conv-r', step: 'run/5', attempt: 2 });
    retry.push('Your refund of $20 ');
    await sleep(20);
    retry.push('is on its way.');
    await sleep(20);
    // A reader that saw the first attempt reads on from its cursor and folds everything it has.
    const more = await reader.since('conv-r', seen.at(-1)!.id);
    expect(foldReplyChunks([...seen, ...more])).toEqual([
      { step: 'run/5', attempt: 2, text: 'Your refund of $20 is on its way.', final: false },
    ]);
    await retry.finish('Your refund of $20 is on its way.');
    expect(foldReplyChunks(await reader.since('conv-r', 0))).toEqual([
      { step: 'run/5', attempt: 2, text: 'Your refund of $20 is on its way.', final: true },
    ]);
  });

  it('caps the deltas of one attempt at maxChars; the final row still carries the whole text', async () => {
    const writer = createReplyStreamWriter(shop.store.replies, { flushMs: 1, maxChars: 10 });
    const step = writer.begin({ conversationId: 'conv-cap', step: 'run/1', attempt: 1 });
    step.push('0123456');
    step.push('789abcdef');
    await sleep(20);
    await step.finish('0123456789…');
    const rows = await reader.since('conv-cap', 0);
    expect(rows.filter((r) => !r.final).map((r) => r.text)).toEqual(['0123456789']);
    expect(foldReplyChunks(rows)[0]!.text).toBe('0123456789…');
  });

  it('prunes rows past the retention, and never hands out a pruned id again', async () => {
    let clock = Date.parse('2026-01-01T10:00:00Z');
    const writer = createReplyStreamWriter(shop.store.replies, {
      flushMs: 1,
      retentionMs: 60_000,
      pruneEveryMs: 1_000,
      now: () => clock,
    });
    const old = writer.begin({ conversationId: 'conv-p', step: 'run/1', attempt: 1 });
    old.push('old text');
    await sleep(20);
    await old.finish('old text');
    const before = await reader.since('conv-p', 0);
    expect(before).toHaveLength(2);

    clock += 5 * 60_000;
    const fresh = writer.begin({ conversationId: 'conv-p', step: 'run/2', attempt: 1 });
    await fresh.finish('new text'); // its final row is written, then the old rows are pruned
    await sleep(50);
    const after = await reader.since('conv-p', 0);
    expect(after.map((r) => r.text)).toEqual(['new text']);
    expect(after[0]!.id).toBeGreaterThan(before.at(-1)!.id);
    const counted = await shop.store.query<{ n: number }>('SELECT CAST(COUNT(*) AS INTEGER) AS n FROM reply_chunks');
    expect(counted).toEqual([{ n: 1 }]);
  });

  it('openReplyStreamReader reads the database the environment names', async () => {
    const writer = createReplyStreamWriter(shop.store.replies, { flushMs: 1 });
    await writer.begin({ conversationId: 'conv-env', step: 'run/1', attempt: 1 }).finish('Hello.');
    const env = backend === 'postgres' ? { SHOP_DATABASE_URL: shop.location } : { SHOP_DB: shop.location };
    const opened = await openReplyStreamReader(env);
    try {
      expect(await opened.since('conv-env', 0)).toEqual([
        expect.objectContaining({ conversationId: 'conv-env', step: 'run/1', text: 'Hello.', final: true }),
      ]);
    } finally {
      await opened.close();
    }
  });

  it('refuses bad arguments with a clear error', async () => {
    await expect(reader.since('', 0)).rejects.toThrow(/conversationId must be a non-empty string/);
    await expect(reader.since('c', -1)).rejects.toThrow(/afterId must be a whole number >= 0/);
    await expect(reader.since('c', 1.5)).rejects.toThrow(/afterId/);
    await expect(reader.since('c', 0, 0)).rejects.toThrow(/limit must be a whole number from 1 to 5000/);
    await expect(reader.since('c', 0, 100_000)).rejects.toThrow(/limit/);
  });
});
