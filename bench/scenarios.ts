/**
 * The seed's three scenarios as benchmark turns, and the shop they run against. A refund or a
 * cancellation changes the shop, so every such turn gets an order of its own: a copy of the seed's
 * shipped order 12345 ($99.99) or pending order 67890 ($149.99) under a fresh five-digit id
 * (the offline model reads five-digit order numbers), inserted into a temporary shop database.
 * Every turn therefore takes the same path, turn after turn, in both systems.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { ToolName } from '../agents';
import { openSqliteStore, resetShopStore, SEED_ORDERS, type SqliteShopStore } from '../activities/store';

export type ScenarioName = 'status' | 'refund' | 'cancel_refund';

export interface Scenario {
  name: ScenarioName;
  title: string;
  /** Model steps the turn takes: what per-step numbers divide by. */
  modelSteps: number;
  /** The path, for the report. */
  path: string;
  /**
   * The turn's model steps and tool calls in order (a handoff runs none): what the floor runs
   * (bench/floor) in their place. checkSeed() holds it to `modelSteps`.
   */
  activities: readonly ('model' | ToolName)[];
  /** The customer's message for an order id. */
  message(orderId: string): string;
  /** Which seed order a fresh copy is made of; undefined: read-only, the seed order itself is used. */
  copyOf?: string;
  seedOrder: string;
  /** What a correct reply says; anything else counts as an error. */
  expect: RegExp;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'status',
    title: 'Order status',
    modelSteps: 3,
    path: 'receptionist -> order -> get_order_status -> reply',
    activities: ['model', 'model', 'get_order_status', 'model'],
    message: (id) => `Has my order #${id} shipped?`,
    seedOrder: '12345',
    expect: /is shipped/,
  },
  {
    name: 'refund',
    title: 'Refund',
    modelSteps: 4,
    path: 'receptionist -> billing -> get_order_status -> process_refund -> reply',
    activities: ['model', 'model', 'get_order_status', 'model', 'process_refund', 'model'],
    message: (id) => `I don't want order #${id} anymore, please refund`,
    copyOf: '12345',
    seedOrder: '12345',
    expect: /I have refunded \$99\.99/,
  },
  {
    name: 'cancel_refund',
    title: 'Cancel, then refund',
    modelSteps: 6,
    path: 'receptionist -> order -> cancel_order -> billing -> get_order_status -> process_refund -> reply',
    activities: [
      'model',
      'model',
      'cancel_order',
      'model',
      'model',
      'get_order_status',
      'model',
      'process_refund',
      'model',
    ],
    message: (id) => `My order #${id} hasn't shipped yet, can I cancel and refund?`,
    copyOf: '67890',
    seedOrder: '67890',
    expect: /I have refunded \$149\.99/,
  },
];

export function scenario(name: ScenarioName): Scenario {
  return SCENARIOS.find((s) => s.name === name)!;
}

/** The first id handed out; ids below are left to the seed. */
const FIRST_ID = 40_000;
const LAST_ID = 99_999;

/** A temporary shop database with an allocator of fresh order copies. */
export class BenchShop {
  private next = FIRST_ID;
  private readonly insert;

  static async open(): Promise<BenchShop> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'desk-bench-'));
    return new BenchShop(await openSqliteStore(path.join(dir, 'shop.db')), dir);
  }

  private constructor(
    readonly store: SqliteShopStore,
    readonly dir: string,
  ) {
    this.insert = this.store.db.prepare(
      `INSERT INTO orders (id, customer_id, status, total_cents, items, tracking_number, carrier, shipping_address, created_at)
       SELECT ?, customer_id, status, total_cents, items, tracking_number, carrier, shipping_address, created_at FROM orders WHERE id = ?`,
    );
  }

  /** The order a turn of `s` is about: a fresh copy for a turn that changes the shop. */
  orderFor(s: Scenario): string {
    if (!s.copyOf) return s.seedOrder;
    if (this.next > LAST_ID)
      throw new Error('the benchmark shop ran out of five-digit order ids; reset() it between phases');
    const id = String(this.next++);
    this.insert.run(id, s.copyOf);
    return id;
  }

  /** Back to the seed; ids are handed out from the start again. Only with no turn in flight. */
  async reset(): Promise<void> {
    await resetShopStore(this.store);
    this.next = FIRST_ID;
  }

  /** How many ids are left before a reset is needed. */
  remaining(): number {
    return LAST_ID - this.next + 1;
  }

  async close(): Promise<void> {
    await this.store.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The seed orders the scenarios copy must exist and look as the scenarios expect. */
export function checkSeed(): void {
  for (const s of SCENARIOS) {
    if (!SEED_ORDERS.some((o) => o.id === s.seedOrder))
      throw new Error(`seed order ${s.seedOrder} is missing: update bench/scenarios.ts`);
    if (s.activities.filter((a) => a === 'model').length !== s.modelSteps)
      throw new Error(`scenario ${s.name}: its activities name ${s.modelSteps} model steps`);
  }
}
