/**
 * The reducers behind handoffs, rollbacks, guards and statistics: pure functions, no Temporal.
 */
import {
  applyHandoff,
  applyRollback,
  boundTranscript,
  checkHandoff,
  closeConversation,
  initialState,
  isPingPong,
  recordGuard,
  recordRefusedHandoff,
  startTurn,
  statistics,
} from '../../workflows/state';

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-01T00:01:00.000Z';

describe('checkHandoff', () => {
  test('allows exactly the targets the agent spec lists', () => {
    expect(checkHandoff('receptionist', 'order')).toEqual({ ok: true, to: 'order' });
    expect(checkHandoff('order', 'billing')).toEqual({ ok: true, to: 'billing' });
    expect(checkHandoff('tech', 'receptionist')).toEqual({ ok: true, to: 'receptionist' });
  });
  test('refuses a known agent that is not listed, and names the allowed ones', () => {
    expect(checkHandoff('tech', 'billing')).toEqual({
      ok: false,
      why: 'tech may not hand off to billing; allowed: receptionist',
    });
  });
  test('refuses an unknown agent', () => {
    expect(checkHandoff('receptionist', 'sales')).toEqual({
      ok: false,
      why: 'there is no agent named sales; allowed: order, billing, tech',
    });
  });
});

describe('handoff and rollback reducers', () => {
  const started = startTurn(initialState('alice', T0), 'refund please');

  test('a handoff moves control and records from, to, reason, time and turn, without mutating the input', () => {
    const next = applyHandoff(started, 'billing', 'wants a refund', T1);
    expect(next.currentAgent).toBe('billing');
    expect(next.trail).toEqual([
      { kind: 'handoff', from: 'receptionist', to: 'billing', reason: 'wants a refund', at: T1, turn: 1 },
    ]);
    expect(started.currentAgent).toBe('receptionist');
    expect(started.trail).toEqual([]);
  });

  test('a rollback returns to the receptionist, keeps history and adds a note for the model', () => {
    const withBilling = applyHandoff(started, 'billing', 'refund', T1);
    const back = applyRollback(withBilling, 'operator override', T1);
    expect(back.currentAgent).toBe('receptionist');
    expect(back.history.slice(0, withBilling.history.length)).toEqual(withBilling.history);
    expect(back.history.at(-1)).toEqual({
      role: 'event',
      content: 'Control was returned from billing to receptionist: operator override',
    });
    expect(back.trail.at(-1)).toEqual({
      kind: 'rollback',
      from: 'billing',
      to: 'receptionist',
      reason: 'operator override',
      noop: false,
      at: T1,
      turn: 1,
    });
  });

  test('a rollback while with the receptionist is a recorded no-op', () => {
    const back = applyRollback(started, 'just in case', T1);
    expect(back.currentAgent).toBe('receptionist');
    expect(back.history).toEqual(started.history);
    expect(back.trail).toEqual([expect.objectContaining({ kind: 'rollback', noop: true })]);
  });

  test('ping-pong: the same hop twice in one turn', () => {
    let s = applyHandoff(started, 'order', 'a', T1);
    s = applyHandoff(s, 'billing', 'b', T1);
    expect(isPingPong(s, 'order')).toBe(false); // billing -> order once is a legitimate return trip
    s = applyHandoff(s, 'order', 'c', T1);
    expect(isPingPong(s, 'billing')).toBe(true); // order -> billing again
    expect(isPingPong(startTurn(s, 'next message'), 'billing')).toBe(false); // a new turn starts afresh
  });

  test('refused handoffs and guards are recorded but move nothing', () => {
    const s = recordGuard(recordRefusedHandoff(started, 'sales', 'upsell', 'no such agent', T1), 'steps', T1);
    expect(s.currentAgent).toBe('receptionist');
    expect(s.trail.map((t) => t.kind)).toEqual(['handoff_refused', 'guard']);
  });

  test('closing is idempotent and keeps the first reason', () => {
    const closed = closeConversation(started, 'ended');
    expect(closeConversation(closed, 'idle')).toBe(closed);
    expect(closed).toMatchObject({ status: 'closed', closedReason: 'ended' });
  });
});

describe('statistics', () => {
  test("the tracker's form: total handoffs, path, agents involved, rollbacks", () => {
    let s = startTurn(initialState('alice', T0), 'cancel and refund');
    s = applyHandoff(s, 'order', 'cancel', T1);
    s = applyHandoff(s, 'billing', 'refund', T1);
    s = recordRefusedHandoff(s, 'tech', 'x', 'not allowed', T1);
    s = applyRollback(s, 'operator', T1);
    s = applyRollback(s, 'again', T1);
    expect(statistics(s)).toEqual({
      totalHandoffs: 2,
      rollbacks: 2,
      path: 'receptionist -> order -> billing -> receptionist',
      agentsInvolved: ['receptionist', 'order', 'billing'],
    });
  });
  test('a new conversation', () => {
    expect(statistics(initialState('bob', T0))).toEqual({
      totalHandoffs: 0,
      rollbacks: 0,
      path: 'receptionist',
      agentsInvolved: ['receptionist'],
    });
  });
});

describe('boundTranscript', () => {
  const turnOf = (n: number, size: number) => [
    { role: 'user' as const, content: `question ${n} ${'x'.repeat(size)}` },
    {
      role: 'assistant' as const,
      agent: 'order' as const,
      content: null,
      toolCalls: [{ id: `c${n}`, name: 'get_order_status', arguments: '{}' }],
    },
    { role: 'tool' as const, toolCallId: `c${n}`, name: 'get_order_status', content: '{"ok":true}' },
    { role: 'assistant' as const, agent: 'order' as const, content: `answer ${n}` },
  ];
  const withTurns = (count: number, size: number) => ({
    ...initialState('alice', T0),
    history: Array.from({ length: count }, (_, i) => turnOf(i + 1, size)).flat(),
  });

  test('leaves a transcript under the limit alone', () => {
    const s = withTurns(3, 10);
    expect(boundTranscript(s, 100_000)).toBe(s);
  });

  test('drops the oldest whole turns, never splitting a tool call from its result, and says so', () => {
    const s = withTurns(10, 1_000);
    const bounded = boundTranscript(s, 3_500);
    expect(JSON.stringify(bounded.history).length).toBeLessThanOrEqual(3_500);
    expect(bounded.history[0]).toEqual({
      role: 'event',
      content: expect.stringMatching(/^\d+ earlier messages .* archived/),
    });
    expect(bounded.history[1]).toMatchObject({ role: 'user' });
    const callIds = bounded.history.flatMap((m) =>
      m.role === 'assistant' ? (m.toolCalls ?? []).map((c) => c.id) : [],
    );
    const resultIds = bounded.history.flatMap((m) => (m.role === 'tool' ? [m.toolCallId] : []));
    expect(resultIds).toEqual(callIds);
    expect(bounded.history.at(-1)).toEqual({ role: 'assistant', agent: 'order', content: 'answer 10' });
  });

  test('always keeps the newest turn, even when it alone is over the limit', () => {
    const s = {
      ...withTurns(2, 10),
      history: [...withTurns(2, 10).history, { role: 'user' as const, content: 'y'.repeat(5_000) }],
    };
    const bounded = boundTranscript(s, 1_000);
    expect(bounded.history.at(-1)).toEqual({ role: 'user', content: 'y'.repeat(5_000) });
    expect(bounded.history).toHaveLength(2);
  });
});
