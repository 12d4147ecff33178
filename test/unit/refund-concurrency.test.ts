/**
 * Money under concurrency between processes, on both engines: four processes, each firing ten
 * refund attempts at the same order at the same moment. With forty different idempotency keys
 * ($10 each against $99.99 paid), whatever the interleaving, the refunded total never passes what
 * was paid: exactly nine succeed, every other attempt is refused as over the limit, and every
 * attempt has its one ledger row. With the same ten keys in all four processes (a retry racing
 * the first attempt on another worker), each key refunds once and the other three replay it.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

import { openShopStore } from '../../activities/store';
import { BACKENDS, openTestShop, useShopBackends } from '../helpers/shop-backends';

useShopBackends();

const REPO = path.resolve(__dirname, '..', '..');
const PROCESSES = 4;
const ATTEMPTS = 10;

interface Summary {
  refunded: number;
  replayed: number;
  refused: number;
  failed: string[];
}

function attempts(
  location: string,
  keyPrefix: string,
  dollars: number,
): { ready: Promise<void>; go(): void; done: Promise<Summary> } {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(REPO, 'test', 'fixtures', 'refund-attempts.ts'),
      location,
      keyPrefix,
      String(ATTEMPTS),
      String(dollars),
    ],
    {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('ready\n')) markReady();
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<Summary>((resolve, reject) =>
    child.once('exit', (code) => {
      markReady(); // a child that died early must not hang the test: `done` reports it
      if (code === 0) resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Summary);
      else reject(new Error(`exit ${code}: ${err}`));
    }),
  );
  return { ready, go: () => child.stdin.end('go\n'), done };
}

/** Runs the processes, releases them together, and adds up what they saw. */
async function race(location: string, keyPrefix: (p: number) => string, dollars: number): Promise<Summary> {
  const procs = Array.from({ length: PROCESSES }, (_, p) => attempts(location, keyPrefix(p), dollars));
  // Every child has loaded and opened the shop; release them together.
  await Promise.all(procs.map((p) => p.ready));
  for (const p of procs) p.go();
  const summaries = await Promise.all(procs.map((p) => p.done));
  return summaries.reduce(
    (a, s) => ({
      refunded: a.refunded + s.refunded,
      replayed: a.replayed + s.replayed,
      refused: a.refused + s.refused,
      failed: [...a.failed, ...s.failed],
    }),
    { refunded: 0, replayed: 0, refused: 0, failed: [] as string[] },
  );
}

describe.each(BACKENDS)('concurrent refunds on %s', (backend) => {
  it(`${PROCESSES} processes x ${ATTEMPTS} attempts with different keys never refund past the amount paid`, async () => {
    const shop = await openTestShop(backend);
    await shop.store.close();
    const total = await race(shop.location, (p) => `proof:p${p}`, 10);

    const store = await openShopStore(shop.location);
    try {
      expect(total.failed).toEqual([]);
      expect(total).toMatchObject({ refunded: 9, replayed: 0, refused: PROCESSES * ATTEMPTS - 9 });
      expect(await store.refundedCents('12345')).toBe(9000);
      const refunds = await store.listRefunds('12345');
      expect(refunds).toHaveLength(9);
      expect(new Set(refunds.map((r) => r.id)).size).toBe(9);
      const ledger = await store.query<{ n: number }>(
        "SELECT CAST(COUNT(*) AS INTEGER) AS n FROM tool_calls WHERE idempotency_key LIKE 'proof:%'",
      );
      expect(ledger).toEqual([{ n: PROCESSES * ATTEMPTS }]);
      // Every refund row is the outcome its ledger entry recorded.
      for (const r of refunds) {
        const call = await store.getToolCall(r.idempotencyKey);
        expect(JSON.parse(call!.resultJson)).toMatchObject({ ok: true, data: { refund_id: r.id } });
      }
    } finally {
      await store.close();
      await shop.dispose();
    }
  }, 120_000);

  it(`${PROCESSES} processes racing on the same ${ATTEMPTS} keys refund once per key`, async () => {
    const shop = await openTestShop(backend);
    await shop.store.close();
    const total = await race(shop.location, () => 'proof:shared', 5);

    const store = await openShopStore(shop.location);
    try {
      expect(total.failed).toEqual([]);
      expect(total).toEqual({ refunded: ATTEMPTS, replayed: (PROCESSES - 1) * ATTEMPTS, refused: 0, failed: [] });
      expect(await store.refundedCents('12345')).toBe(ATTEMPTS * 500);
      expect((await store.listRefunds('12345')).map((r) => r.idempotencyKey).sort()).toEqual(
        Array.from({ length: ATTEMPTS }, (_, i) => `proof:shared:${i}`).sort(),
      );
      expect(
        await store.query("SELECT CAST(COUNT(*) AS INTEGER) AS n FROM tool_calls WHERE idempotency_key LIKE 'proof:%'"),
      ).toEqual([{ n: ATTEMPTS }]);
    } finally {
      await store.close();
      await shop.dispose();
    }
  }, 120_000);
});
