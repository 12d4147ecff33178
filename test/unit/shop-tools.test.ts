/**
 * The function tools through `runTool`, against a fresh seeded database per test, on both shop
 * engines (SQLite file, PostgreSQL database): each tool's answer, the refusals the model reads,
 * exactly-once for writes, the failure types Temporal sees, the crash-test hook, and the
 * registry helpers the model activity relies on.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { ApplicationFailure } from '@temporalio/common';

import type { ShopStore, SqliteShopStore } from '../../activities/store';
import { TOOLS, createToolRunner, toolJsonSchema, type ToolRunner } from '../../activities/tools';
import { TOOL_NAMES } from '../../activities/tools';
import { AGENTS, type AgentName } from '../../agents';
import type { ToolRunResult } from '../../contract/transcript';
import { killAfterCommit } from '../helpers/faults';
import {
  BACKENDS,
  openTestShop,
  testPostgres,
  useShopBackends,
  type BackendName,
  type TestShop,
} from '../helpers/shop-backends';

useShopBackends();

const NOW = new Date('2025-02-01T12:00:00.000Z');

let dir: string;
let shop: TestShop;
let store: ShopStore;
let runner: ToolRunner;
let keySeq = 0;

async function openShop(backend: BackendName): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'shop-tools-'));
  shop = await openTestShop(backend);
  store = shop.store;
  runner = createToolRunner(store, { now: () => NOW });
}

async function closeShop(): Promise<void> {
  await shop.dispose();
  rmSync(dir, { recursive: true, force: true });
}

interface CallOptions {
  agent?: AgentName;
  customerId?: string;
  key?: string;
  r?: Pick<ToolRunner, 'runTool'>;
}

/** Runs a tool as the agent that owns it (unless told otherwise), for alice, with a fresh key. */
function call(tool: string, args: unknown, opts: CallOptions = {}): Promise<ToolRunResult> {
  const agent =
    opts.agent ?? (Object.values(AGENTS).find((a) => (a.tools as readonly string[]).includes(tool))?.name || 'order');
  return (opts.r ?? runner).runTool({
    agent,
    tool,
    arguments: typeof args === 'string' ? args : JSON.stringify(args),
    customerId: opts.customerId ?? 'alice',
    idempotencyKey: opts.key ?? `wf-test:1:1:${keySeq++}`,
  });
}

function data(result: ToolRunResult): Record<string, unknown> {
  if (!result.ok) throw new Error(`expected ok, got ${result.code}: ${result.message}`);
  return result.data;
}

const refundCount = async () =>
  (await store.query<{ n: number }>('SELECT CAST(COUNT(*) AS INTEGER) AS n FROM refunds'))[0]?.n;

describe.each(BACKENDS)('tools on the %s shop', (backend) => {
  beforeEach(() => openShop(backend));
  afterEach(() => closeShop());

  describe('order tools', () => {
    it('get_order_status returns the order in dollars, accepting #12345', async () => {
      expect(data(await call('get_order_status', { order_id: '#12345' }))).toEqual({
        order_id: '12345',
        status: 'shipped',
        placed_at: '2025-01-02T10:15:00.000Z',
        items: [
          { name: 'Widget A', sku: 'WID-A', quantity: 1, unit_price: 59.99 },
          { name: 'Widget B', sku: 'WID-B', quantity: 1, unit_price: 40 },
        ],
        currency: 'USD',
        total: 99.99,
        refunded: 0,
        refundable: 99.99,
        shipping_address: expect.any(String),
        carrier: 'UPS',
        tracking_number: 'TRK-98765',
      });
      expect(data(await call('get_order_status', { order_id: '33333' }))).toMatchObject({
        total: 80,
        refunded: 30,
        refundable: 50,
      });
    });

    it('track_shipment gives carrier and tracking, or says it has not shipped', async () => {
      expect(data(await call('track_shipment', { order_id: '12345' }))).toMatchObject({
        status: 'shipped',
        shipped: true,
        carrier: 'UPS',
        tracking_number: 'TRK-98765',
      });
      expect(data(await call('track_shipment', { order_id: '67890' }))).toMatchObject({
        status: 'pending',
        shipped: false,
        tracking_number: null,
        note: expect.stringContaining('not shipped'),
      });
    });

    it('cancel_order cancels a pending order and records it', async () => {
      expect(data(await call('cancel_order', { order_id: '67890', reason: 'changed my mind' }))).toMatchObject({
        order_id: '67890',
        status: 'cancelled',
        refundable: 149.99,
      });
      expect((await store.findCustomerOrder('alice', '67890'))?.status).toBe('cancelled');
      expect(await store.query("SELECT reason FROM cancellations WHERE order_id = '67890'")).toEqual([
        { reason: 'changed my mind' },
      ]);
    });

    it('cancel_order refuses a shipped or already cancelled order', async () => {
      expect(await call('cancel_order', { order_id: '12345' })).toEqual({
        ok: false,
        code: 'invalid_state',
        message: expect.stringContaining('shipped'),
      });
      expect(await call('cancel_order', { order_id: '22222' })).toMatchObject({ ok: false, code: 'invalid_state' });
      expect((await store.findCustomerOrder('alice', '12345'))?.status).toBe('shipped');
    });

    it('update_shipping_address changes a pending order only', async () => {
      const address = '1 New Road, Leeds LS1 1AA, United Kingdom';
      expect(data(await call('update_shipping_address', { order_id: '67890', address }))).toMatchObject({
        order_id: '67890',
        old_address: expect.stringContaining('Baker Street'),
        new_address: address,
      });
      expect((await store.findCustomerOrder('alice', '67890'))?.shippingAddress).toBe(address);
      expect(await call('update_shipping_address', { order_id: '12345', address })).toMatchObject({
        ok: false,
        code: 'invalid_state',
      });
      expect((await store.findCustomerOrder('alice', '12345'))?.shippingAddress).not.toBe(address);
    });
  });

  describe('billing tools', () => {
    it('process_refund refunds within the limit', async () => {
      expect(
        data(await call('process_refund', { order_id: '12345', amount: 99.99, reason: 'Arrived broken' })),
      ).toEqual({
        refund_id: 'RF-1002',
        order_id: '12345',
        currency: 'USD',
        amount: 99.99,
        reason: 'Arrived broken',
        order_total: 99.99,
        refunded_total: 99.99,
        refundable_remaining: 0,
        refunded_at: NOW.toISOString(),
      });
      expect(await store.listRefunds('12345')).toEqual([expect.objectContaining({ amountCents: 9999 })]);
    });

    it('process_refund refuses more than the refundable remainder, writing nothing', async () => {
      const result = await call('process_refund', { order_id: '12345', amount: 500, reason: 'compensation' });
      expect(result).toEqual({ ok: false, code: 'over_limit', message: expect.stringContaining('at most $99.99') });
      expect(await refundCount()).toBe(1); // the seed's refund only
      // A partially refunded order: only what is left.
      expect(await call('process_refund', { order_id: '33333', amount: 60, reason: 'damaged' })).toMatchObject({
        ok: false,
        code: 'over_limit',
        message: expect.stringContaining('$50.00'),
      });
    });

    it('a refund above the approval limit is made only with an approval and its key (the activity re-checks the limit)', async () => {
      const args = { order_id: '86420', amount: 450, reason: 'Projector arrived broken' };
      const bob = { customerId: 'bob' };
      expect(await call('process_refund', args, bob)).toEqual({
        ok: false,
        code: 'approval_required',
        message: expect.stringContaining('above $200.00'),
      });
      expect(await store.listRefunds('86420')).toEqual([]);
      // The worker's own limit counts, not the caller's: at $500 the same refund needs nothing more.
      const generous = createToolRunner(store, { now: () => NOW, refundApprovalLimitCents: 500_00 });
      const approvedRun = (key: string, approval?: { id: string; by: string }) =>
        runner.runTool({
          agent: 'billing',
          tool: 'process_refund',
          arguments: JSON.stringify(args),
          customerId: 'bob',
          idempotencyKey: key,
          ...(approval && { approval }),
        });
      // An approval marker on a key that is not the approval's is a bug upstream, never run.
      await expect(approvedRun('wf:1:1:0', { id: 'apr-1-1-0', by: 'sam' })).rejects.toMatchObject({
        type: 'Tool.BadInput',
        nonRetryable: true,
      });
      const first = await approvedRun('wf:approval:apr-1-1-0', { id: 'apr-1-1-0', by: 'sam' });
      expect(first).toMatchObject({ ok: true, data: { amount: 450, refundable_remaining: 0 } });
      // Approved twice, or retried after a crash: the same key replays, one refund.
      expect(await approvedRun('wf:approval:apr-1-1-0', { id: 'apr-1-1-0', by: 'sam' })).toMatchObject({
        ok: true,
        replayed: true,
        data: { refund_id: (first as unknown as { data: { refund_id: string } }).data.refund_id },
      });
      expect(await store.listRefunds('86420')).toHaveLength(1);
      expect(await call('process_refund', { ...args, amount: 1 }, { ...bob, r: generous })).toMatchObject({
        ok: false,
        code: 'invalid_state',
      });
    });

    it('refunding the full amount twice with two keys: the second is refused', async () => {
      const args = { order_id: '12345', amount: 99.99, reason: 'Arrived broken' };
      expect((await call('process_refund', args, { key: 'k-1' })).ok).toBe(true);
      expect(await call('process_refund', args, { key: 'k-2' })).toEqual({
        ok: false,
        code: 'invalid_state',
        message: expect.stringContaining('already refunded'),
      });
      expect(await store.refundedCents('12345')).toBe(9999);
    });

    it('get_invoice lists lines, total and refunds', async () => {
      expect(data(await call('get_invoice', { order_id: '33333' }))).toMatchObject({
        invoice_number: 'INV-33333',
        billed_to: { name: 'Alice Martin', email: 'alice@example.com' },
        lines: [{ name: 'Headphones', quantity: 1, unit_price: 80, amount: 80 }],
        total: 80,
        refunds: [{ refund_id: 'RF-1001', amount: 30 }],
        refunded: 30,
        net_paid: 50,
      });
    });
  });

  describe('tech tools', () => {
    it('search_help_docs finds the rate-limit article for "429 too many requests"', async () => {
      const { results } = data(await call('search_help_docs', { query: '429 too many requests' })) as {
        results: Array<{ id: string; title: string; snippet: string }>;
      };
      expect(results.length).toBeGreaterThan(0);
      expect(results.length).toBeLessThanOrEqual(3);
      expect(results[0]).toMatchObject({ id: 'rate-limits-429', title: expect.stringContaining('429') });
      expect(results[0]?.snippet).toMatch(/429/);
    });

    it('search_help_docs tolerates typos and prefixes', async () => {
      const first = async (query: string) =>
        (data(await call('search_help_docs', { query })) as { results: Array<{ id: string }> }).results[0]?.id;
      expect(await first('webhok signatur')).toBe('webhooks');
      expect(await first('401 unauthorized api key')).toBe('api-keys-401-403');
      expect(await first('paginat cursor')).toBe('pagination');
    });

    it('create_support_ticket opens a ticket with default priority', async () => {
      expect(
        data(
          await call('create_support_ticket', {
            subject: 'Webhooks not arriving',
            description: 'No order.shipped events since Monday.',
          }),
        ),
      ).toEqual({
        ticket_id: 'TCK-1001',
        subject: 'Webhooks not arriving',
        priority: 'normal',
        status: 'open',
        created_at: NOW.toISOString(),
      });
      expect(await store.listTickets('alice')).toEqual([
        expect.objectContaining({ id: 'TCK-1001', customerId: 'alice' }),
      ]);
    });
  });

  describe('customer scoping', () => {
    it.each([
      ['get_order_status', { order_id: '24680' }],
      ['track_shipment', { order_id: '24680' }],
      ['get_invoice', { order_id: '24680' }],
      ['cancel_order', { order_id: '13579' }],
      ['update_shipping_address', { order_id: '13579', address: '1 Thief Lane, Nowhere 00000' }],
      ['process_refund', { order_id: '24680', amount: 10, reason: 'because' }],
    ])("%s on bob's order in alice's conversation reads as not found and changes nothing", async (tool, args) => {
      const before = await store.counts();
      const result = await call(tool, args);
      expect(result).toEqual({
        ok: false,
        code: 'not_found',
        message: `Order ${args.order_id} was not found for this customer`,
      });
      // Exactly the wording of a missing order.
      expect(await call(tool, { ...args, order_id: '55555' })).toMatchObject({
        message: 'Order 55555 was not found for this customer',
      });
      const after = await store.counts();
      expect({ ...after, tool_calls: 0 }).toEqual({ ...before, tool_calls: 0 });
      expect(await store.findCustomerOrder('bob', '13579')).toMatchObject({
        status: 'pending',
        shippingAddress: expect.stringContaining('Market Street'),
      });
    });

    it('ignores a customer id the model slips into the arguments', async () => {
      expect(await call('get_order_status', { order_id: '24680', customer_id: 'bob' })).toMatchObject({
        ok: false,
        code: 'not_found',
      });
    });
  });

  describe('exactly once', () => {
    const args = { order_id: '12345', amount: 25, reason: 'Late delivery' };

    it('the same key twice writes one refund and replays the first result', async () => {
      const first = await call('process_refund', args, { key: 'once' });
      const second = await call('process_refund', { ...args, order_id: '#12345' }, { key: 'once' });
      expect(first.ok).toBe(true);
      expect(second).toEqual({ ...first, replayed: true });
      expect(await store.listRefunds('12345')).toHaveLength(1);
      expect(await store.getToolCall('once')).toMatchObject({ tool: 'process_refund', customerId: 'alice' });
    });

    it('the same key with different arguments is an IdempotencyConflict, writing nothing', async () => {
      await call('process_refund', args, { key: 'conflict' });
      const err = await call('process_refund', { ...args, amount: 30 }, { key: 'conflict' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApplicationFailure);
      expect(err).toMatchObject({ type: 'Tool.IdempotencyConflict', nonRetryable: true });
      await expect(call('cancel_order', { order_id: '67890' }, { key: 'conflict' })).rejects.toMatchObject({
        type: 'Tool.IdempotencyConflict',
      });
      expect(await store.listRefunds('12345')).toHaveLength(1);
      expect((await store.findCustomerOrder('alice', '67890'))?.status).toBe('pending');
    });

    it('a refusal is recorded and replayed as the same refusal', async () => {
      const first = await call('cancel_order', { order_id: '12345' }, { key: 'refused' });
      expect(first).toMatchObject({ ok: false, code: 'invalid_state' });
      expect(await call('cancel_order', { order_id: '12345' }, { key: 'refused' })).toEqual(first);
      expect(await store.getToolCall('refused')).toBeDefined();
    });

    it('replays a ticket and a cancellation without writing again', async () => {
      const ticket = { subject: 'SDK import fails', description: 'Cannot import the SDK in an ESM project.' };
      await call('create_support_ticket', ticket, { key: 't' });
      expect(await call('create_support_ticket', { ...ticket, priority: 'normal' }, { key: 't' })).toMatchObject({
        replayed: true,
      });
      expect(await store.listTickets('alice')).toHaveLength(1);

      await call('cancel_order', { order_id: '67890' }, { key: 'c' });
      expect(await call('cancel_order', { order_id: '67890' }, { key: 'c' })).toMatchObject({
        ok: true,
        replayed: true,
      });
    });

    it('does not record read-only calls', async () => {
      await call('get_order_status', { order_id: '12345' }, { key: 'read' });
      expect(await store.getToolCall('read')).toBeUndefined();
    });
  });

  describe('refusals before execution', () => {
    it('invalid JSON', async () => {
      expect(await call('get_order_status', '{"order_id": ')).toMatchObject({
        ok: false,
        code: 'invalid_arguments',
        message: expect.stringContaining('not valid JSON'),
      });
    });

    it('schema failures name the fields', async () => {
      const r = await call('process_refund', { order_id: 'abc', amount: -5 });
      expect(r).toMatchObject({ ok: false, code: 'invalid_arguments' });
      const message = r.ok ? '' : r.message;
      expect(message).toMatch(/order_id: expected an order number/);
      expect(message).toMatch(/amount: /);
      expect(message).toMatch(/reason: /);
      expect(await call('process_refund', { order_id: '12345', amount: 1.005, reason: 'rounding' })).toMatchObject({
        code: 'invalid_arguments',
      });
      expect(
        await call('create_support_ticket', {
          subject: 'Help',
          description: 'Something broke badly.',
          priority: 'urgent',
        }),
      ).toMatchObject({
        code: 'invalid_arguments',
      });
      expect(await call('get_order_status', '')).toMatchObject({
        code: 'invalid_arguments',
        message: expect.stringContaining('order_id'),
      });
      expect(await refundCount()).toBe(1);
    });

    it('an unknown tool', async () => {
      expect(await call('drop_tables', {}, { agent: 'order' })).toMatchObject({ ok: false, code: 'unknown_tool' });
    });

    it.each([
      ['receptionist', 'process_refund'],
      ['tech', 'cancel_order'],
      ['order', 'process_refund'],
      ['billing', 'search_help_docs'],
    ] as const)('%s may not call %s', async (agent, tool) => {
      const result = await call(tool, { order_id: '67890', amount: 1, reason: 'nope', query: 'x' }, { agent });
      expect(result).toMatchObject({ ok: false, code: 'not_allowed' });
      expect(await store.counts()).toMatchObject({ refunds: 1, tool_calls: 0 });
      expect((await store.findCustomerOrder('alice', '67890'))?.status).toBe('pending');
    });
  });

  describe('failures Temporal sees', () => {
    // SQLite: another process holds the write lock. PostgreSQL's counterpart: the stopped server below.
    if (backend === 'sqlite')
      it('a locked database is a retryable Shop.Unavailable', async () => {
        const sqlite = store as SqliteShopStore;
        sqlite.db.pragma('busy_timeout = 20');
        const other = new Database(shop.location);
        other.exec('BEGIN IMMEDIATE');
        try {
          const err = await call('process_refund', { order_id: '12345', amount: 1, reason: 'test' }).catch(
            (e: unknown) => e,
          );
          expect(err).toBeInstanceOf(ApplicationFailure);
          expect(err).toMatchObject({ type: 'Shop.Unavailable', nonRetryable: false });
        } finally {
          other.exec('ROLLBACK');
          other.close();
        }
        expect(await store.listRefunds('12345')).toHaveLength(0);
      });

    if (backend === 'postgres')
      it('a stopped database server is a retryable Shop.Unavailable, and the next attempt after it is back works', async () => {
        const pg = await testPostgres();
        await pg.stop();
        try {
          const err = await call(
            'process_refund',
            { order_id: '12345', amount: 1, reason: 'test' },
            { key: 'outage' },
          ).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(ApplicationFailure);
          expect(err).toMatchObject({ type: 'Shop.Unavailable', nonRetryable: false });
        } finally {
          await pg.restart();
        }
        // Temporal's retry of the same call: it runs once, on a fresh connection.
        expect(
          await call('process_refund', { order_id: '12345', amount: 1, reason: 'test' }, { key: 'outage' }),
        ).toMatchObject({ ok: true });
        expect(await store.listRefunds('12345')).toHaveLength(1);
      });

    it('a bug is a non-retryable failure', async () => {
      await store.close();
      await expect(call('get_order_status', { order_id: '12345' })).rejects.toMatchObject({
        type: 'Tool.InternalError',
        nonRetryable: true,
      });
    });
  });

  describe("the crash tests' fault (test/helpers/faults.ts)", () => {
    const fault = (tool: string, kill: () => void) =>
      killAfterCommit(
        {
          callModel: () => Promise.reject(new Error('unused')),
          callModelLocal: () => Promise.reject(new Error('unused')),
          runTool: createToolRunner(store, { now: () => NOW }).runTool,
        },
        { tool, marker: join(dir, 'fault-marker'), kill },
      );

    it('kills once, right after the commit, then never again for that marker', async () => {
      const refundsAtKill: unknown[] = [];
      const kill = jest.fn(() => {
        refundsAtKill.push(store.refundedCents('12345')); // read once the write transaction is over
      });
      const r = fault('process_refund', kill);
      const args = { order_id: '12345', amount: 10, reason: 'late' };
      await call('process_refund', args, { r, key: 'f1' });
      expect(kill).toHaveBeenCalledTimes(1);
      expect(await Promise.all(refundsAtKill)).toEqual([1000]); // committed before the kill
      expect(readFileSync(join(dir, 'fault-marker'), 'utf8')).toBe('f1\n');

      expect(await call('process_refund', args, { r, key: 'f1' })).toMatchObject({ replayed: true });
      await call('process_refund', args, { r, key: 'f2' });
      await call('cancel_order', { order_id: '67890' }, { r });
      expect(kill).toHaveBeenCalledTimes(1);
    });

    it('is off for other tools', async () => {
      const kill = jest.fn();
      await call(
        'process_refund',
        { order_id: '12345', amount: 10, reason: 'late' },
        { r: fault('cancel_order', kill) },
      );
      expect(kill).not.toHaveBeenCalled();
    });
  });
});

describe('registry', () => {
  it('has exactly one definition per tool name, filed under its own name', () => {
    expect(Object.keys(TOOLS).sort()).toEqual([...TOOL_NAMES].sort());
    for (const name of TOOL_NAMES) expect(TOOLS[name].name).toBe(name);
    expect(TOOL_NAMES.filter((n) => TOOLS[n].mutating).sort()).toEqual(
      ['cancel_order', 'create_support_ticket', 'process_refund', 'update_shipping_address'].sort(),
    );
  });

  it('every tool an agent lists exists', () => {
    for (const agent of Object.values(AGENTS)) for (const tool of agent.tools) expect(TOOLS[tool]).toBeDefined();
  });

  it.each([
    ['get_order_status', ['order_id']],
    ['track_shipment', ['order_id']],
    ['cancel_order', ['order_id']],
    ['update_shipping_address', ['address', 'order_id']],
    ['process_refund', ['amount', 'order_id', 'reason']],
    ['get_invoice', ['order_id']],
    ['search_help_docs', ['query']],
    ['create_support_ticket', ['description', 'subject']],
  ] as const)('toolJsonSchema(%s) is an object schema requiring %j', (name, required) => {
    const schema = toolJsonSchema(name);
    expect(schema.type).toBe('object');
    expect(schema).not.toHaveProperty('$schema');
    expect([...(schema.required ?? [])].sort()).toEqual(required);
    for (const field of required) expect(schema.properties).toHaveProperty(field);
    expect(TOOLS[name].description.length).toBeGreaterThan(20);
  });

  it('describes optional and defaulted fields', () => {
    expect(toolJsonSchema('cancel_order').properties).toHaveProperty('reason');
    expect(toolJsonSchema('create_support_ticket').properties.priority).toMatchObject({
      enum: ['low', 'normal', 'high'],
      default: 'normal',
    });
    expect(toolJsonSchema('process_refund').properties.amount).toMatchObject({ type: 'number', exclusiveMinimum: 0 });
  });
});
