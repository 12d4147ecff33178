/**
 * Every part of the conversation's state pushed past its own bound, through the reducers alone:
 * reasons, the trail, messages, tool calls, the transcript, one oversized turn, and a carried state
 * from an older release. After each, the state continue-as-new would carry is within
 * HISTORY_BUDGET, the statistics are still exact, and the schema accepts it.
 */
import {
  APPROVAL_BOUNDS,
  BOUNDS,
  DEFAULT_APPROVAL_POLICY,
  DEFAULT_LIMITS,
  HISTORY_BUDGET,
  LIMIT_RANGES,
  cut,
  jsonBytes,
  utf8Length,
} from '../../contract/limits';
import {
  decideRefund,
  foldDecided,
  recordDecision,
  recordRefund,
  requestApproval,
  type Approval,
} from '../../workflows/approvals';
import {
  carriedStateSchema,
  checkConversationInput,
  checkDecisionShape,
  checkMessage,
  rollbackReason,
} from '../../workflows/schemas';
import {
  appendMessages,
  applyHandoff,
  applyRollback,
  boundState,
  boundToolCalls,
  compactForCarry,
  initialState,
  recordRefusedHandoff,
  startTurn,
  statistics,
  transcriptBytes,
  type ConversationState,
} from '../../workflows/state';

const T = '2026-01-01T00:00:00.000Z';
/** Worst case for JSON size per character: a control character is escaped as six bytes. */
const WORST = '\u0001';
const MAX_TRANSCRIPT = LIMIT_RANGES.maxTranscriptBytes[1];

function carried(state: ConversationState): ConversationState {
  const next = compactForCarry(state, MAX_TRANSCRIPT);
  expect(jsonBytes(next)).toBeLessThanOrEqual(HISTORY_BUDGET.carriedStateBytes);
  expect(carriedStateSchema.safeParse(next).success).toBe(true);
  return next;
}

describe('text helpers', () => {
  test('cut keeps short text, cuts long text with a mark, never splits a surrogate pair', () => {
    expect(cut('abc', 5)).toEqual({ text: 'abc' });
    expect(cut('abcdefgh', 5)).toEqual({ text: 'abcd…', cutFrom: 8 });
    const emoji = 'abc😀😀😀';
    const c = cut(emoji, 5).text;
    expect(c.isWellFormed()).toBe(true);
    expect(c.length).toBeLessThanOrEqual(5);
  });
  test('utf8Length counts like Buffer.byteLength, lone surrogates included', () => {
    for (const s of ['', 'abc', 'é', '€', '😀', 'a\ud800b', '\udc00', 'x😀y€z'])
      expect([s, utf8Length(s)]).toEqual([s, Buffer.byteLength(s)]);
  });
});

describe('each part of the state past its bound', () => {
  test('a 1.5 MB rollback reason is cut to the stated length and the cut is recorded', () => {
    let s = applyHandoff(startTurn(initialState('alice', T), 'hi'), 'billing', 'refund', T);
    s = applyRollback(s, 'r'.repeat(1_500_000), T);
    const entry = s.trail.at(-1)!;
    expect(entry).toMatchObject({ kind: 'rollback', reasonCut: 1_500_000 });
    expect((entry as { reason: string }).reason.length).toBe(BOUNDS.maxReasonChars);
    expect(JSON.stringify(s.history.at(-1)).length).toBeLessThan(BOUNDS.maxReasonChars + 200);
    carried(s);
  });

  test('the trail keeps its newest entries within count and bytes, and the statistics stay exact', () => {
    let s = startTurn(initialState('alice', T), 'hi');
    for (let i = 0; i < 1_000; i++) {
      s = applyHandoff(s, i % 2 ? 'order' : 'billing', WORST.repeat(2_000), T);
      s = applyRollback(s, WORST.repeat(2_000), T);
      s = recordRefusedHandoff(s, 'x'.repeat(10_000), WORST.repeat(10_000), WORST.repeat(10_000), T);
    }
    expect(s.trail.length).toBeLessThanOrEqual(BOUNDS.maxTrailEntries);
    expect(jsonBytes(s.trail)).toBeLessThanOrEqual(BOUNDS.maxTrailBytes);
    const stats = statistics(s);
    expect(stats).toMatchObject({ totalHandoffs: 1_000, rollbacks: 1_000 });
    expect(stats.agentsInvolved.sort()).toEqual(['billing', 'order', 'receptionist']);
    expect(stats.path.startsWith('… -> ')).toBe(true);
    expect(stats.path.endsWith('-> receptionist')).toBe(true);
    carried(s);
  });

  test('model text, tool names and tool results are cut; tool calls past the limit are dropped; oversized arguments are not stored', () => {
    const calls = Array.from({ length: 50 }, (_, i) => ({
      id: `c${i}`,
      name: 'n'.repeat(1_000),
      arguments: i === 1 ? 'a'.repeat(100_000) : '{}',
    }));
    const bounded = boundToolCalls(calls);
    expect(bounded.calls).toHaveLength(BOUNDS.maxToolCallsPerStep);
    expect(bounded.dropped).toBe(50 - BOUNDS.maxToolCallsPerStep);
    expect(bounded.oversized).toEqual(['c1']);
    expect(bounded.calls[1]!.arguments).toBe('{}');
    let s = startTurn(initialState('alice', T), 'hi');
    s = appendMessages(
      s,
      { role: 'assistant', agent: 'receptionist', content: 't'.repeat(1_000_000), toolCalls: calls },
      { role: 'tool', toolCallId: 'c0', name: 'n'.repeat(1_000), content: 'r'.repeat(1_000_000) },
    );
    const [assistant, tool] = s.history.slice(-2) as unknown as [
      { content: string; toolCalls: unknown[] },
      { name: string; content: string },
    ];
    expect(assistant.content.length).toBe(BOUNDS.maxModelTextChars);
    expect(assistant.toolCalls).toHaveLength(BOUNDS.maxToolCallsPerStep);
    expect(tool.name.length).toBe(BOUNDS.maxToolNameChars);
    expect(tool.content.length).toBe(BOUNDS.maxToolResultChars);
    carried(s);
  });

  test('a long transcript keeps its newest turns within the budget', () => {
    let s = initialState('alice', T);
    for (let turn = 0; turn < 200; turn++) {
      s = startTurn(s, WORST.repeat(LIMIT_RANGES.maxMessageChars[1]));
      s = appendMessages(s, {
        role: 'assistant',
        agent: 'receptionist',
        content: WORST.repeat(BOUNDS.maxModelTextChars),
      });
    }
    expect(transcriptBytes(s.history)).toBeGreaterThan(HISTORY_BUDGET.carriedStateBytes * 10);
    const next = carried(s);
    expect(transcriptBytes(next.history)).toBeLessThanOrEqual(MAX_TRANSCRIPT);
    expect(next.history[0]).toMatchObject({ role: 'event', content: expect.stringContaining('archived') });
    expect(next.history.at(-1)).toMatchObject({ role: 'assistant' });
    expect(next.turn).toBe(200);
  });

  test('one turn too large on its own keeps the customer message and drops its tool work', () => {
    let s = startTurn(initialState('alice', T), 'show me everything');
    for (let i = 0; i < 200; i++) {
      s = appendMessages(
        s,
        {
          role: 'assistant',
          agent: 'tech',
          content: null,
          toolCalls: [{ id: `c${i}`, name: 'search_help_docs', arguments: '{}' }],
        },
        {
          role: 'tool',
          toolCallId: `c${i}`,
          name: 'search_help_docs',
          content: WORST.repeat(BOUNDS.maxToolResultChars),
        },
      );
    }
    const next = carried(s);
    expect(next.history.map((m) => m.role)).toEqual(['user', 'event']);
    expect(next.history[0]).toEqual({ role: 'user', content: 'show me everything' });
  });

  test('a carried state from an older release, over every bound, is bounded on arrival rather than refused', () => {
    const old: ConversationState = {
      ...initialState('alice', T),
      history: [
        { role: 'user', content: 'u'.repeat(100_000) },
        { role: 'assistant', agent: 'order', content: 'a'.repeat(100_000) },
      ],
      trail: Array.from({ length: 1_000 }, (_, i) => ({
        kind: 'handoff' as const,
        from: 'receptionist' as const,
        to: 'order' as const,
        reason: 'r'.repeat(5_000),
        at: T,
        turn: i,
      })),
    };
    expect(carriedStateSchema.safeParse(old).success).toBe(true);
    const bounded = boundState(old, DEFAULT_LIMITS.maxTranscriptBytes);
    expect(bounded.trail.length).toBeLessThanOrEqual(BOUNDS.maxTrailEntries);
    expect(statistics(bounded).totalHandoffs).toBe(1_000);
    expect(jsonBytes(bounded)).toBeLessThanOrEqual(HISTORY_BUDGET.carriedStateBytes);
  });
});

describe('approvals past their bounds', () => {
  const policy = DEFAULT_APPROVAL_POLICY;
  const ask = (orderId: string) => JSON.stringify({ order_id: orderId, amount: 300, reason: WORST.repeat(500) });

  test('at most maxAwaitingApprovals wait (a further request is refused to the model); decided ones keep the newest, older folded', () => {
    let s = startTurn(initialState('bob', T), 'refund everything');
    // 300 requested and decided, with the longest names and notes allowed.
    for (let i = 0; i < 300; i++) {
      const id = `apr-${i + 2}-1-0`;
      const d = decideRefund(s, ask(String(20_000 + i)), policy);
      if (d.kind !== 'approval') throw new Error(`expected an approval, got ${d.kind}`);
      s = requestApproval(s, { id, args: d.args, agent: 'billing', at: T, policy }).state;
      const at = new Date(Date.parse(T) + i * 1000).toISOString();
      s = recordDecision(
        s,
        {
          approvalId: id,
          decision: i % 2 ? 'reject' : 'approve',
          by: 'b'.repeat(APPROVAL_BOUNDS.maxDeciderChars),
          note: WORST.repeat(APPROVAL_BOUNDS.maxNoteChars),
        },
        at,
      );
      s = foldDecided(recordRefund(s, id, { ok: false, code: 'invalid_state', message: WORST.repeat(10_000) }));
    }
    // Then as many waiting as allowed.
    for (let i = 0; i < APPROVAL_BOUNDS.maxAwaitingApprovals; i++) {
      const d = decideRefund(s, ask(String(10_000 + i)), policy);
      if (d.kind !== 'approval') throw new Error(`expected an approval, got ${d.kind}`);
      s = requestApproval(s, { id: `apr-1-1-${i}`, args: d.args, agent: 'billing', at: T, policy }).state;
    }
    expect(decideRefund(s, ask('99999'), policy)).toMatchObject({
      kind: 'refuse',
      reply: { ok: false, code: 'over_limit' },
    });
    expect(decideRefund(s, ask('10000'), policy)).toMatchObject({
      kind: 'refuse',
      reply: { ok: false, code: 'invalid_state', message: expect.stringContaining('already pending') },
    });
    const approvals = s.approvals as Approval[];
    expect(approvals.filter((a) => a.status === 'pending')).toHaveLength(APPROVAL_BOUNDS.maxAwaitingApprovals);
    expect(approvals.filter((a) => a.status !== 'pending')).toHaveLength(APPROVAL_BOUNDS.maxDecidedApprovals);
    // The newest decisions are the ones kept.
    expect(approvals.filter((a) => a.status !== 'pending').at(-1)!.id).toBe('apr-301-1-0');
    expect(s.approvalsFolded).toEqual({ approved: 140, rejected: 140, expired: 0 });
    expect(approvals.every((a) => (a.refundError ?? '').length <= BOUNDS.maxReasonChars)).toBe(true);
    carried(s);
  });

  test('a carried state with approvals over their string bounds is bounded on arrival; more than a release could make is refused', () => {
    const long = (i: number, status: Approval['status']): Approval => ({
      id: `apr-${i}`,
      status,
      orderId: '12345',
      amountCents: 45_000,
      reason: 'r'.repeat(100_000),
      agent: 'billing',
      turn: 1,
      requestedAt: T,
      deadline: T,
      ...(status !== 'pending' && { decidedBy: 'd'.repeat(100_000), decidedAt: T, note: 'n'.repeat(100_000) }),
    });
    const max = APPROVAL_BOUNDS.maxAwaitingApprovals + APPROVAL_BOUNDS.maxDecidedApprovals;
    const old: ConversationState = {
      ...initialState('bob', T),
      approvals: Array.from({ length: max }, (_, i) => long(i, i % 3 ? 'approved' : 'pending')),
    };
    expect(carriedStateSchema.safeParse(old).success).toBe(true);
    const bounded = boundState(old, DEFAULT_LIMITS.maxTranscriptBytes);
    expect(bounded.approvals!.filter((a) => a.status === 'pending')).toHaveLength(10); // awaiting ones are never dropped
    expect(bounded.approvals!.filter((a) => a.status === 'approved')).toHaveLength(APPROVAL_BOUNDS.maxDecidedApprovals);
    expect(jsonBytes(bounded)).toBeLessThanOrEqual(HISTORY_BUDGET.carriedStateBytes);
    expect(carriedStateSchema.safeParse(bounded).success).toBe(true);
    expect(carriedStateSchema.safeParse({ ...old, approvals: [...old.approvals!, long(99, 'pending')] }).success).toBe(
      false,
    );
  });

  test('a decision: strict, `by` trimmed and non-empty, the note bounded', () => {
    expect(checkDecisionShape({ approvalId: 'apr-1-1-0', decision: 'approve', by: ' sam ', note: ' ok ' })).toEqual({
      ok: true,
      value: { approvalId: 'apr-1-1-0', decision: 'approve', by: 'sam', note: 'ok' },
    });
    const bad: Array<[unknown, RegExp]> = [
      [null, /a decision is/],
      [{ approvalId: 'a', decision: 'approve', by: '' }, /`by` is empty/],
      [{ approvalId: 'a', decision: 'approve', by: 'x'.repeat(65) }, /longer than 64/],
      [{ approvalId: 'a', decision: 'approve', by: 'sam\u0000' }, /control characters/],
      [{ approvalId: '', decision: 'approve', by: 'sam' }, /approval id is empty/],
      [{ approvalId: 'a'.repeat(65), decision: 'approve', by: 'sam' }, /at most 64/],
      [{ approvalId: 'a', decision: 'yes', by: 'sam' }, /'approve' or 'reject'/],
      [{ approvalId: 'a', decision: 'approve', by: 'sam', note: 'n'.repeat(501) }, /at most 500/],
      [{ approvalId: 'a', decision: 'approve', by: 'sam', pad: 'x' }, /Unrecognized key/],
    ];
    for (const [raw, error] of bad)
      expect([raw, checkDecisionShape(raw)]).toEqual([raw, { ok: false, error: expect.stringMatching(error) }]);
  });
});

test("what a model step returns beyond the transcript (a call's UI summary) is not stored, and a carried state drops fields it does not know", () => {
  let s = startTurn(initialState('alice', T), 'status?');
  const calls = [{ id: 'c0', name: 'get_order_status', arguments: '{"order_id":"1"}', summary: 'order 1' }];
  s = appendMessages(s, { role: 'assistant', agent: 'order', content: null, toolCalls: boundToolCalls(calls).calls });
  expect(s.history.at(-1)).toEqual({
    role: 'assistant',
    agent: 'order',
    content: null,
    toolCalls: [{ id: 'c0', name: 'get_order_status', arguments: '{"order_id":"1"}' }],
  });
  const withExtra = { ...s, history: [{ role: 'user', content: 'hi', addedByANewerRelease: true }] };
  const parsed = carriedStateSchema.safeParse(withExtra);
  expect(parsed.success && parsed.data.history).toEqual([{ role: 'user', content: 'hi' }]);
});

describe('what clients send', () => {
  test('start input: strict, bounded limits, a valid customer, a well-formed carried state', () => {
    expect(checkConversationInput({ customerId: 'alice' })).toEqual({ ok: true, value: { customerId: 'alice' } });
    const bad: Array<[unknown, RegExp]> = [
      [undefined, /expected an object/],
      [null, /expected an object/],
      [{}, /customerId/],
      [{ customerId: 123 }, /customerId/],
      [{ customerId: 'a b' }, /customer id is 1-64/],
      [{ customerId: 'alice', extra: 1 }, /Unrecognized key/],
      [{ customerId: 'alice', limits: { maxStepsPerTurn: 0 } }, /limits.maxStepsPerTurn/],
      [{ customerId: 'alice', limits: { idleTimeoutMs: 1e15 } }, /limits.idleTimeoutMs/],
      [{ customerId: 'alice', carried: { trail: 5 } }, /carried/],
      [{ customerId: 'alice', carried: { ...initialState('bob', T) } }, /differs from customerId/],
      [{ customerId: 'alice', policy: { refundApprovalLimitCents: -1 } }, /policy.refundApprovalLimitCents/],
      [{ customerId: 'alice', policy: { approvalTimeoutMs: 0 } }, /policy.approvalTimeoutMs/],
      [{ customerId: 'alice', policy: { onApprovalTimeout: 'ignore' } }, /policy.onApprovalTimeout/],
      [{ customerId: 'alice', policy: { approvers: [''] } }, /policy.approvers/],
      [
        { customerId: 'alice', policy: { approvers: Array.from({ length: 51 }, (_, i) => `p${i}`) } },
        /policy.approvers/,
      ],
      [{ customerId: 'alice', policy: { secret: 1 } }, /Unrecognized key/],
    ];
    for (const [input, error] of bad) {
      const checked = checkConversationInput(input);
      expect([input, checked.ok]).toEqual([input, false]);
      expect(checked.ok ? '' : checked.error).toMatch(error);
    }
  });

  test('a message: strict shape, cleaned, non-empty, within the limit', () => {
    expect(checkMessage({ text: '  hi \ud800 ' })).toEqual({ ok: true, value: 'hi \ufffd' });
    expect(checkMessage({ text: 'hi', pad: 'x' })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/Unrecognized key: "pad"/),
    });
    expect(checkMessage({ text: '   ' })).toEqual({ ok: false, error: 'the message is empty' });
    expect(checkMessage({ text: 'x'.repeat(9) }, 8)).toEqual({
      ok: false,
      error: 'the message is 9 characters long; the limit is 8',
    });
    for (const raw of [null, 42, 'hi', [], { text: 42 }]) expect(checkMessage(raw).ok).toBe(false);
  });

  test('a rollback always rolls back; a malformed payload gets the default reason, said so', () => {
    expect(rollbackReason({ reason: ' operator ' })).toBe('operator');
    expect(rollbackReason(undefined)).toBe('rollback requested');
    expect(rollbackReason({ reason: '  ' })).toBe('rollback requested');
    expect(rollbackReason({ reason: 5 })).toBe('rollback requested (a malformed rollback payload was ignored)');
    expect(rollbackReason('text')).toBe('rollback requested (a malformed rollback payload was ignored)');
  });
});
