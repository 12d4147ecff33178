/**
 * The rollback interrupt of a local model step (activities/interrupts.ts): the interrupts table on
 * both engines, and the step wrapper: a row written after the step's `since` stops the step (its
 * request is aborted) and the step answers `yielded`; rows of other conversations, rows from before
 * the step, and no row at all leave the step alone.
 */
import { interruptible } from '../../activities/interrupts';
import type { InterruptStore } from '../../activities/store';
import type { ModelStepRequest, ModelStepResult } from '../../contract/transcript';
import { BACKENDS, openTestShop, useShopBackends, type TestShop } from '../helpers/shop-backends';

useShopBackends();

describe.each(BACKENDS)('the interrupts table on %s', (backend) => {
  let shop: TestShop;
  beforeEach(async () => {
    shop = await openTestShop(backend);
  });
  afterEach(async () => {
    await shop.store.close();
    await shop.dispose();
  });

  it('finds the newest row of one conversation after a time, and prunes rows older than an hour', async () => {
    const { interrupts } = shop.store;
    await interrupts.add('c-1', '2026-11-28T10:00:00.000Z');
    await interrupts.add('c-1', '2026-11-28T10:00:05.000Z');
    await interrupts.add('c-2', '2026-11-28T10:00:09.000Z');
    expect(await interrupts.newestAfter('c-1', '2026-11-28T09:59:59.000Z')).toBe('2026-11-28T10:00:05.000Z');
    expect(await interrupts.newestAfter('c-1', '2026-11-28T10:00:05.000Z')).toBeUndefined();
    expect(await interrupts.newestAfter('c-3', '2026-11-28T00:00:00.000Z')).toBeUndefined();
    await interrupts.add('c-2', '2026-11-28T11:00:07.000Z'); // prunes what is older than 10:00:07
    const rows = await shop.store.query<{ conversation_id: string }>(
      'SELECT conversation_id FROM interrupts ORDER BY created_at',
    );
    expect(rows.map((r) => r.conversation_id)).toEqual(['c-2', 'c-2']);
  });
});

describe('a local model step that a rollback interrupt stops', () => {
  const request = (since: string): ModelStepRequest & { interrupt: { conversationId: string; since: string } } => ({
    agent: 'billing',
    transcript: { workflowId: 'c-1', runId: 'r', length: 0, digest: '' },
    delta: { from: 0, baseDigest: '', messages: [] },
    interrupt: { conversationId: 'c-1', since },
  });
  const reply: ModelStepResult = { kind: 'reply', text: 'done' };

  function memoryInterrupts(): InterruptStore & { rows: { id: string; at: string }[] } {
    const rows: { id: string; at: string }[] = [];
    return {
      rows,
      add: async (conversationId, at = new Date().toISOString()) => void rows.push({ id: conversationId, at }),
      newestAfter: async (conversationId, after) =>
        rows
          .filter((r) => r.id === conversationId && r.at > after)
          .map((r) => r.at)
          .sort()
          .at(-1),
    };
  }

  /** A step that answers after `ms` unless stopped; records whether it saw the abort. */
  function slowStep(ms: number) {
    const seen = { aborted: false };
    const step = (_r: ModelStepRequest, stop?: AbortSignal) =>
      new Promise<ModelStepResult>((resolve, reject) => {
        const t = setTimeout(() => resolve(reply), ms);
        stop?.addEventListener('abort', () => {
          seen.aborted = true;
          clearTimeout(t);
          reject(new Error('aborted'));
        });
      });
    return { step, seen };
  }

  it('a row written after the step began stops it: the request is aborted and the step yields', async () => {
    const interrupts = memoryInterrupts();
    const { step, seen } = slowStep(5_000);
    const since = new Date().toISOString();
    const run = interruptible(step, interrupts, 10)(request(since));
    await new Promise((r) => setTimeout(r, 30));
    await interrupts.add('c-1');
    const started = Date.now();
    await expect(run).resolves.toEqual({ kind: 'yielded' });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(seen.aborted).toBe(true);
  });

  it('rows of another conversation or from before the step do not stop it', async () => {
    const interrupts = memoryInterrupts();
    await interrupts.add('c-1', '2026-01-01T00:00:00.000Z');
    const { step, seen } = slowStep(80);
    const run = interruptible(step, interrupts, 10)(request(new Date().toISOString()));
    await interrupts.add('c-2');
    await expect(run).resolves.toEqual(reply);
    expect(seen.aborted).toBe(false);
  });

  it('a failing read is only a missed look; a step that fails for itself still fails', async () => {
    let reads = 0;
    const flaky: InterruptStore = {
      add: async () => undefined,
      newestAfter: async () => {
        reads++;
        throw new Error('database is locked');
      },
    };
    const { step } = slowStep(60);
    await expect(interruptible(step, flaky, 10)(request(new Date().toISOString()))).resolves.toEqual(reply);
    expect(reads).toBeGreaterThan(1);
    const failing = () => Promise.reject(new Error('ModelCall.Unavailable'));
    await expect(interruptible(failing, flaky, 10)(request(new Date().toISOString()))).rejects.toThrow(
      'ModelCall.Unavailable',
    );
  });
});
