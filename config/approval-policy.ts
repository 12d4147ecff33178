/**
 * The refund-approval policy from the environment, read on the client side (the CLI, the demo)
 * into a conversation's start input, and on the worker side for the activity's own check of the
 * limit. Workflow code cannot read the environment; a policy in the start input is fixed for the
 * conversation's life (continue-as-new carries it) and visible in its history.
 *
 *   REFUND_APPROVAL_LIMIT   dollars; refunds above it wait for a person (default 200)
 *   APPROVAL_TIMEOUT        how long an approval may wait: 90s, 30m, 24h, 2d (default 24h)
 *   APPROVAL_ON_TIMEOUT     reject (decline and tell the customer) | escalate (default reject)
 *   DESK_APPROVERS          comma-separated names; when set, only they may decide
 */
import { APPROVAL_POLICY_RANGES, DEFAULT_APPROVAL_POLICY, type ApprovalPolicy } from '../contract/limits';

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `24h` -> 86400000. A unit is required: a bare number is ambiguous. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!m) throw new Error(`expected a duration such as 90s, 30m, 24h or 2d, got ${JSON.stringify(text)}`);
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}

/** Only the settings that are set: what is left out takes the workflow's defaults. Throws one clear line on a bad value. */
export function approvalPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<ApprovalPolicy> {
  const policy: Partial<ApprovalPolicy> = {};
  if (env.REFUND_APPROVAL_LIMIT) policy.refundApprovalLimitCents = refundApprovalLimitCents(env);
  if (env.APPROVAL_TIMEOUT) {
    const ms = parseDuration(env.APPROVAL_TIMEOUT);
    const [min, max] = APPROVAL_POLICY_RANGES.approvalTimeoutMs;
    if (ms < min || ms > max)
      throw new Error(`APPROVAL_TIMEOUT must be between 1s and 90d, got ${env.APPROVAL_TIMEOUT}`);
    policy.approvalTimeoutMs = ms;
  }
  if (env.APPROVAL_ON_TIMEOUT) {
    if (env.APPROVAL_ON_TIMEOUT !== 'reject' && env.APPROVAL_ON_TIMEOUT !== 'escalate') {
      throw new Error(`APPROVAL_ON_TIMEOUT must be reject or escalate, got ${JSON.stringify(env.APPROVAL_ON_TIMEOUT)}`);
    }
    policy.onApprovalTimeout = env.APPROVAL_ON_TIMEOUT;
  }
  if (env.DESK_APPROVERS) {
    const approvers = env.DESK_APPROVERS.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (approvers.length > APPROVAL_POLICY_RANGES.maxApprovers)
      throw new Error(`DESK_APPROVERS names more than ${APPROVAL_POLICY_RANGES.maxApprovers} people`);
    if (approvers.length) policy.approvers = approvers;
  }
  return policy;
}

/** The worker's limit for the activity's check: REFUND_APPROVAL_LIMIT in dollars, default $200. */
export function refundApprovalLimitCents(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.REFUND_APPROVAL_LIMIT;
  if (!text) return DEFAULT_APPROVAL_POLICY.refundApprovalLimitCents;
  const dollars = Number(text);
  const cents = Math.round(dollars * 100);
  const [min, max] = APPROVAL_POLICY_RANGES.refundApprovalLimitCents;
  if (!/^\s*\d+(\.\d{1,2})?\s*$/.test(text) || cents < min || cents > max) {
    throw new Error(
      `REFUND_APPROVAL_LIMIT must be an amount in dollars such as 200 or 199.99, got ${JSON.stringify(text)}`,
    );
  }
  return cents;
}
