/**
 * The refund-approval policy from the environment (config/approval-policy.ts): what the client
 * puts in a start input and what the worker's activity checks, each bad value one clear line.
 */
import { approvalPolicyFromEnv, parseDuration, refundApprovalLimitCents } from '../../config/approval-policy';
import { withEnvPolicy } from '../../client/conversations';
import { checkConversationInput } from '../../workflows/schemas';

test('nothing set: no policy in the start input (the workflow defaults apply), $200 for the worker', () => {
  expect(approvalPolicyFromEnv({})).toEqual({});
  expect(withEnvPolicy({ customerId: 'bob' }, {})).toEqual({ customerId: 'bob' });
  expect(refundApprovalLimitCents({})).toBe(20_000);
});

test('every setting read, and what it gives passes the start-input schema', () => {
  const env = {
    REFUND_APPROVAL_LIMIT: '150.50',
    APPROVAL_TIMEOUT: '2d',
    APPROVAL_ON_TIMEOUT: 'escalate',
    DESK_APPROVERS: ' sam , kim,,',
  };
  const policy = {
    refundApprovalLimitCents: 15_050,
    approvalTimeoutMs: 2 * 86_400_000,
    onApprovalTimeout: 'escalate',
    approvers: ['sam', 'kim'],
  };
  expect(approvalPolicyFromEnv(env)).toEqual(policy);
  const input = withEnvPolicy({ customerId: 'bob' }, env);
  expect(input).toEqual({ customerId: 'bob', policy });
  expect(checkConversationInput(input).ok).toBe(true);
  expect(refundApprovalLimitCents(env)).toBe(15_050);
});

test('durations need a unit', () => {
  expect([
    parseDuration('90s'),
    parseDuration('30m'),
    parseDuration('24h'),
    parseDuration('1.5h'),
    parseDuration('500ms'),
  ]).toEqual([90_000, 1_800_000, 86_400_000, 5_400_000, 500]);
  expect(() => parseDuration('24')).toThrow(/expected a duration such as 90s/);
});

test('bad values are one clear line', () => {
  expect(() => approvalPolicyFromEnv({ REFUND_APPROVAL_LIMIT: '-5' })).toThrow(
    /REFUND_APPROVAL_LIMIT must be an amount in dollars/,
  );
  expect(() => refundApprovalLimitCents({ REFUND_APPROVAL_LIMIT: '12.345' })).toThrow(/REFUND_APPROVAL_LIMIT/);
  expect(() => approvalPolicyFromEnv({ APPROVAL_TIMEOUT: '100d' })).toThrow(
    /APPROVAL_TIMEOUT must be between 1s and 90d/,
  );
  expect(() => approvalPolicyFromEnv({ APPROVAL_ON_TIMEOUT: 'ignore' })).toThrow(
    /APPROVAL_ON_TIMEOUT must be reject or escalate/,
  );
  expect(() => withEnvPolicy({ customerId: 'bob' }, { APPROVAL_TIMEOUT: 'soon' })).toThrow(
    /^bad approval policy in the environment: expected a duration/,
  );
});

test('DESK_EXECUTION picks where model steps and tool calls run; a bad value is one clear error; the start input checks it too', () => {
  expect(withEnvPolicy({ customerId: 'bob' }, { DESK_EXECUTION: 'local' }).execution).toBe('local');
  expect(withEnvPolicy({ customerId: 'bob' }, { DESK_EXECUTION: 'local-tools' })).toEqual({
    customerId: 'bob',
    execution: 'local-tools',
  });
  // An explicit choice in the input wins over the environment.
  expect(withEnvPolicy({ customerId: 'bob', execution: 'activities' }, { DESK_EXECUTION: 'local-tools' })).toEqual({
    customerId: 'bob',
    execution: 'activities',
  });
  expect(() => withEnvPolicy({ customerId: 'bob' }, { DESK_EXECUTION: 'remote' })).toThrow(
    'DESK_EXECUTION must be one of activities, local-tools, local, got "remote"',
  );
  expect(checkConversationInput({ customerId: 'bob', execution: 'local-tools' }).ok).toBe(true);
  expect(checkConversationInput({ customerId: 'bob', execution: 'everywhere' })).toMatchObject({
    ok: false,
    error: expect.stringContaining('execution'),
  });
});
