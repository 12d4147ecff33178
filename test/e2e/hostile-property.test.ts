/**
 * Property: nothing a client sends can wedge a conversation. fast-check throws random and
 * adversarial values (anything, huge strings up to 1.9 MB, lone surrogates, unknown fields, deep
 * objects, wrong types) at `sendMessage`, `rollback`, `end`, the queries, unknown signals and
 * updates, and at the start input, through a real Temporal client against the dev server (which
 * enforces Temporal's payload limits), with an in-process desk worker on the offline model.
 *
 * After each case: no WorkflowTaskFailed event in any run of the conversation, what its current run
 * carried is within HISTORY_BUDGET, and the conversation still answers a normal message (or, after
 * `end`, completed cleanly; for a bad start, the execution failed with InvalidConversationInput).
 *
 * Fixed seed and case counts (PROPERTY_SEED / PROPERTY_RUNS override them), so CI is reproducible;
 * a failure prints the counterexample and the seed.
 */
import { WorkflowFailedError } from '@temporalio/client';
import fc from 'fast-check';
import { sendMessage, startWithMessage, type ConversationHandle } from '../../client/conversations';
import { HISTORY_BUDGET } from '../../contract/limits';
import { TASK_QUEUE, WORKFLOW_TYPE, stateQuery } from '../../workflows/messages';
import { useInProcessDesk } from '../helpers/e2e';
import { historyHealth } from '../helpers/history';

const SEED = Number(process.env.PROPERTY_SEED ?? 20261128);
const RUNS = Number(process.env.PROPERTY_RUNS ?? 40);

jest.setTimeout(600_000);

const desk = useInProcessDesk();

/** A huge string, kept as its length until sent, so a counterexample prints as `'x'.repeat(n)` rather than megabytes. */
class Huge {
  constructor(readonly length: number) {}
  [fc.toStringMethod](): string {
    return `'x'.repeat(${this.length})`;
  }
}

/** The value as sent: every Huge replaced by its string. */
function materialize(value: unknown): unknown {
  if (value instanceof Huge) return 'x'.repeat(value.length);
  if (Array.isArray(value)) return value.map(materialize);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, materialize(v)]));
  return value;
}

/** Strings a careless or hostile client sends: empty, blank, lone surrogates, control characters, huge. */
const nastyString: fc.Arbitrary<unknown> = fc.oneof(
  fc.string(),
  fc.constantFrom('', '   ', '\ud800', 'a\udfffb', '\u0000\u0001\u001f', '😀'.repeat(5_000), '"\\'.repeat(3_000)),
  fc.constantFrom(8_000, 8_001, 32_001, 300_000, 1_900_000).map((n) => new Huge(n)),
);
/** Any JSON-ish value, plus the shapes that are almost right. */
const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 2, arbitrary: nastyString },
  { weight: 3, arbitrary: fc.record({ text: nastyString }) },
  { weight: 2, arbitrary: fc.record({ reason: nastyString }) },
  { weight: 2, arbitrary: fc.record({ text: fc.string(), pad: nastyString }) },
  { weight: 1, arbitrary: fc.record({ text: fc.jsonValue({ maxDepth: 2 }) }) },
  { weight: 1, arbitrary: fc.constantFrom(null, undefined, 0, -1, true, [], {}, { text: null }, { reason: null }) },
  { weight: 1, arbitrary: fc.constant(nest(200)) },
);

type Action =
  | { kind: 'send'; arg: unknown }
  | { kind: 'rollback'; arg: unknown }
  | { kind: 'end'; args: unknown[] }
  | { kind: 'query'; name: string; args: unknown[] }
  | { kind: 'unknownSignal'; name: string; arg: unknown }
  | { kind: 'unknownUpdate'; name: string; arg: unknown };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: nastyValue.map((arg) => ({ kind: 'send' as const, arg })) },
  { weight: 4, arbitrary: nastyValue.map((arg) => ({ kind: 'rollback' as const, arg })) },
  { weight: 1, arbitrary: fc.array(nastyValue, { maxLength: 2 }).map((args) => ({ kind: 'end' as const, args })) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('query' as const),
      name: fc.constantFrom('state', 'history', 'nope'),
      args: fc.array(nastyValue, { maxLength: 2 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('unknownSignal' as const),
      name: fc.string({ minLength: 1, maxLength: 40 }),
      arg: nastyValue,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('unknownUpdate' as const),
      name: fc.string({ minLength: 1, maxLength: 40 }),
      arg: nastyValue,
    }),
  },
);

function nest(depth: number): unknown {
  let v: unknown = { text: 'deep' };
  for (let i = 0; i < depth; i++) v = { text: v };
  return v;
}

/**
 * Sends one action; a refusal is the expected outcome of most of them, so errors are swallowed.
 * True when the server took it (a signal over 2 MB, for one, is refused before the workflow sees it).
 */
async function perform(handle: ConversationHandle, hostile: Action): Promise<boolean> {
  const a = materialize(hostile) as Action;
  const untyped = handle as unknown as {
    signal(name: string, ...args: unknown[]): Promise<void>;
    query(name: string, ...args: unknown[]): Promise<unknown>;
    executeUpdate(name: string, opts: { args: unknown[] }): Promise<unknown>;
  };
  const call = (): Promise<unknown> => {
    switch (a.kind) {
      case 'send':
        return untyped.executeUpdate('sendMessage', { args: [a.arg] });
      case 'rollback':
        return untyped.signal('rollback', a.arg);
      case 'end':
        return untyped.signal('end', ...a.args);
      case 'query':
        return untyped.query(a.name, ...a.args);
      case 'unknownSignal':
        return untyped.signal(a.name, a.arg);
      case 'unknownUpdate':
        return untyped.executeUpdate(a.name, { args: [a.arg] });
    }
  };
  return call().then(
    () => true,
    () => false,
  );
}

/** A conversation that should have finished must do so promptly: fail clearly rather than hang the suite. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)),
  );
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

let seq = 0;

test(`property: no sequence of hostile messages wedges a conversation (seed ${SEED}, ${RUNS} cases)`, async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 4 }), async (actions) => {
      const { handle } = await startWithMessage(desk.server.client, { customerId: 'alice' }, 'hello', {
        workflowId: `prop-${SEED}-${++seq}`,
      });
      let ended = false;
      for (const a of actions) {
        if (process.env.PROPERTY_TRACE) console.log(`${handle.workflowId} ${fc.stringify(a).slice(0, 160)}`);
        const taken = await perform(handle, a);
        if (a.kind === 'end' && taken) ended = true;
      }
      if (ended) {
        await expect(within(30_000, 'result after end', handle.result())).resolves.toMatchObject({
          status: 'closed',
          closedReason: 'ended',
        });
      } else {
        const answer = await within(30_000, 'a normal message', sendMessage(handle, 'Has my order #12345 shipped?'));
        expect(answer.text).toContain('TRK-98765');
        const state = await handle.query(stateQuery);
        expect(JSON.stringify(state).length).toBeLessThan(HISTORY_BUDGET.carriedStateBytes);
      }
      const health = await historyHealth(desk.bigClient, handle.workflowId);
      expect(health.taskFailures).toEqual([]);
      expect(health.serverRetries).toBeLessThanOrEqual(actions.length);
      for (const run of health.runs) expect(run.startInputBytes).toBeLessThan(HISTORY_BUDGET.carriedStateBytes);
      if (!ended) await handle.signal('end' as never);
    }),
    { seed: SEED, numRuns: RUNS, endOnFailure: true },
  );
});

test(`property: a start with any input either runs or fails the execution clearly (seed ${SEED}, ${RUNS * 2} cases)`, async () => {
  const startInput: fc.Arbitrary<unknown[]> = fc.oneof(
    fc.array(nastyValue, { maxLength: 2 }),
    fc
      .record({
        customerId: fc.oneof(nastyString, fc.constant('alice') as fc.Arbitrary<unknown>),
        limits: fc.option(fc.dictionary(fc.string(), fc.jsonValue())),
      })
      .map((v) => [v]),
    fc.record({ customerId: fc.constant('alice'), carried: nastyValue }).map((v) => [v]),
    fc
      .record({
        customerId: fc.constant('alice'),
        limits: fc.record({ maxStepsPerTurn: fc.integer(), idleTimeoutMs: fc.double() }, { requiredKeys: [] }),
      })
      .map((v) => [v]),
  );
  await fc.assert(
    fc.asyncProperty(startInput, async (args) => {
      const handle = await desk.server.client.workflow.start(WORKFLOW_TYPE, {
        taskQueue: TASK_QUEUE,
        workflowId: `prop-start-${SEED}-${++seq}`,
        args: materialize(args) as unknown[],
      });
      const outcome = await Promise.race([
        handle.result().then(
          () => 'completed' as const,
          (err: unknown) => err,
        ),
        // A valid start runs (and waits for messages): give it a moment, then it must answer.
        new Promise((resolve) => setTimeout(() => resolve('running'), 2_000)),
      ]);
      if (outcome === 'running') {
        await handle.signal('end' as never);
        await expect(handle.result()).resolves.toMatchObject({ status: 'closed' });
      } else {
        expect(outcome).toBeInstanceOf(WorkflowFailedError);
        expect((outcome as WorkflowFailedError).cause).toMatchObject({
          type: 'InvalidConversationInput',
          nonRetryable: true,
        });
      }
      const health = await historyHealth(desk.bigClient, handle.workflowId);
      expect(health.taskFailures).toEqual([]);
    }),
    { seed: SEED, numRuns: RUNS * 2, endOnFailure: true },
  );
});
