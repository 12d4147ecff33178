/**
 * The per-call rule of a turn (`decideCall` / `afterCall` in workflows/state.ts), without Temporal:
 * given the state, the turn so far and one tool call, one decision with its tool reply.
 */
import { DEFAULT_LIMITS } from '../../contract/limits';
import type { ToolCallRequest } from '../../contract/transcript';
import {
  afterCall,
  applyHandoff,
  decideCall,
  initialState,
  startTurn,
  type CallContext,
  type CallDecision,
  type ConversationState,
  type TurnProgress,
} from '../../workflows/state';

const T = '2026-01-01T00:00:00.000Z';
const ctx: CallContext = {
  rollbackPending: false,
  oversized: false,
  maxHandoffsPerTurn: DEFAULT_LIMITS.maxHandoffsPerTurn,
};
const fresh = (): ConversationState => startTurn(initialState('alice', T), 'refund my order');
const call = (name: string, args: unknown = {}): ToolCallRequest => ({
  id: 'c',
  name,
  arguments: typeof args === 'string' ? args : JSON.stringify(args),
});
const transfer = (to: string, reason = 'because') => call(`transfer_to_${to}`, { reason });

/** Decides each call of one model response in order, as the turn does. */
function decideAll(
  state: ConversationState,
  calls: ToolCallRequest[],
  start: TurnProgress = { handoffs: 0 },
  context: CallContext = ctx,
): CallDecision[] {
  let progress = start;
  let current = state;
  return calls.map((c) => {
    const d = decideCall(current, progress, c, context);
    progress = afterCall(progress, d);
    if (d.kind === 'handoff') current = applyHandoff(current, d.to, d.reason, T);
    return d;
  });
}

test('an allowed handoff moves control, with its reason, and answers the call', () => {
  expect(decideCall(fresh(), { handoffs: 0 }, transfer('billing', 'wants a refund'), ctx)).toEqual({
    kind: 'handoff',
    to: 'billing',
    reason: 'wants a refund',
    reply: { ok: true, data: { transferred_to: 'billing' } },
  });
});

test('the first allowed handoff wins; every later call in the response is answered as not run', () => {
  const decisions = decideAll(fresh(), [
    transfer('sales'),
    transfer('order'),
    transfer('billing'),
    call('get_order_status', { order_id: '1' }),
  ]);
  expect(decisions.map((d) => d.kind)).toEqual(['refuse_handoff', 'handoff', 'skip', 'skip']);
  expect(decisions[2]).toEqual({
    kind: 'skip',
    why: 'control was handed to order',
    reply: { ok: false, code: 'invalid_state', message: 'not run: control was handed to order' },
  });
});

test('a handoff without a reason, to an agent not listed, or to no agent at all is refused with what is allowed', () => {
  const [noReason, notListed, unknown] = [
    call('transfer_to_billing', {}),
    call('transfer_to_billing', 'not json'),
    transfer('sales'),
  ].map((c) => decideCall(fresh(), { handoffs: 0 }, c, ctx));
  expect(noReason).toMatchObject({
    kind: 'refuse_handoff',
    to: 'billing',
    reason: '',
    reply: { ok: false, code: 'not_allowed', message: 'a handoff needs a reason: {"reason": "..."}' },
  });
  expect(notListed).toMatchObject({ kind: 'refuse_handoff' });
  expect(unknown).toMatchObject({
    kind: 'refuse_handoff',
    why: 'there is no agent named sales; allowed: order, billing, tech',
  });
  const tech = applyHandoff(fresh(), 'tech', 'api', T);
  expect(decideCall(tech, { handoffs: 1 }, transfer('billing'), ctx)).toMatchObject({
    kind: 'refuse_handoff',
    why: 'tech may not hand off to billing; allowed: receptionist',
  });
});

test('the handoff cap: the handoff past it is a guard, and stops the rest', () => {
  const decisions = decideAll(
    fresh(),
    [transfer('order'), call('get_order_status', { order_id: '1' })],
    { handoffs: 2 },
    { ...ctx, maxHandoffsPerTurn: 2 },
  );
  expect(decisions[0]).toEqual({
    kind: 'guard',
    limit: 'handoffs',
    reply: { ok: false, code: 'over_limit', message: 'not run: the handoff limit for this message was reached' },
  });
  expect(decisions[1]).toMatchObject({ kind: 'skip', why: 'the handoff limit for this message was reached' });
});

test('ping-pong: the same hop twice in one turn is a guard; one return trip is fine', () => {
  let s = applyHandoff(fresh(), 'order', 'status', T);
  s = applyHandoff(s, 'billing', 'refund', T);
  expect(decideCall(s, { handoffs: 2 }, transfer('order'), ctx)).toMatchObject({ kind: 'handoff', to: 'order' }); // billing -> order: first time
  s = applyHandoff(s, 'order', 'details', T);
  expect(decideCall(s, { handoffs: 3 }, transfer('billing'), { ...ctx, maxHandoffsPerTurn: 10 })).toMatchObject({
    kind: 'guard',
    limit: 'ping_pong',
  }); // order -> billing again
});

test('a pending rollback stops the response: no call runs, each is answered', () => {
  const decisions = decideAll(
    fresh(),
    [transfer('order'), call('get_order_status')],
    { handoffs: 0 },
    { ...ctx, rollbackPending: true },
  );
  expect(decisions.map((d) => [d.kind, d.kind === 'skip' && d.why])).toEqual([
    ['skip', 'control was returned to the receptionist'],
    ['skip', 'control was returned to the receptionist'],
  ]);
});

test("a function tool runs only when it is the agent's own; oversized arguments never run", () => {
  const billing = applyHandoff(fresh(), 'billing', 'refund', T);
  expect(decideCall(billing, { handoffs: 1 }, call('process_refund', { order_id: '1' }), ctx)).toEqual({ kind: 'run' });
  expect(decideCall(billing, { handoffs: 1 }, call('cancel_order', { order_id: '1' }), ctx)).toEqual({
    kind: 'refuse_tool',
    reply: {
      ok: false,
      code: 'not_allowed',
      message: "cancel_order is not one of billing's tools; available: get_order_status, process_refund, get_invoice",
    },
  });
  expect(decideCall(billing, { handoffs: 1 }, call('process_refund', '{}'), { ...ctx, oversized: true })).toMatchObject(
    {
      kind: 'refuse_tool',
      reply: { code: 'invalid_arguments' },
    },
  );
  expect(decideCall(fresh(), { handoffs: 0 }, call('get_order_status'), ctx)).toMatchObject({
    kind: 'refuse_tool',
    reply: { message: expect.stringContaining('available: none') },
  });
});

test('refusals and runs do not stop the response; progress counts handoffs only', () => {
  const billing = applyHandoff(fresh(), 'billing', 'refund', T);
  const decisions = decideAll(
    billing,
    [call('cancel_order'), call('get_order_status', { order_id: '1' }), transfer('order')],
    { handoffs: 1 },
  );
  expect(decisions.map((d) => d.kind)).toEqual(['refuse_tool', 'run', 'handoff']);
  expect(afterCall({ handoffs: 1 }, decisions[2]!)).toEqual({ handoffs: 2, stopped: 'control was handed to order' });
});
