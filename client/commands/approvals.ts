/**
 * Finding and deciding refunds that wait for a person: `approvals` lists every approval awaiting a
 * decision across conversations (found through the PendingApprovals search attribute, then each
 * conversation's state query for the details), `approve` and `reject` send a `decideApproval`.
 */
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { formatCents } from '../../contract/refunds';
import type { Approval } from '../../workflows/approvals';
import { PENDING_APPROVALS, WORKFLOW_TYPE, stateQuery } from '../../workflows/messages';
import { decideApproval, type ConversationHandle } from '../conversations';
import { connect, conversationHandle, conversationIdArg, positiveIntArg, print } from './context';
import { formatTable } from './format';

export interface PendingApprovalRow {
  conversationId: string;
  customerId: string;
  approvalId: string;
  status: Approval['status'];
  orderId: string;
  amount: number;
  agent: string;
  requestedAt: string;
  /** Seconds since the request. */
  ageSeconds: number;
  deadline: string;
}

/** Every conversation with an approval awaiting a decision, whatever else it is doing. */
export const PENDING_QUERY = `WorkflowType = '${WORKFLOW_TYPE}' AND ${PENDING_APPROVALS.name} > 0`;

/** Pending approvals, oldest first. A conversation that finished between the listing and its query is left out. */
export async function listPendingApprovals(
  client: Client,
  limit: number,
  nowMs: number = Date.now(),
): Promise<PendingApprovalRow[]> {
  const rows: PendingApprovalRow[] = [];
  let seen = 0;
  for await (const info of client.workflow.list({ query: PENDING_QUERY, pageSize: Math.min(limit, 100) })) {
    if (++seen > limit) break;
    let approvals: Approval[];
    let customerId: string;
    try {
      const state = await client.workflow.getHandle(info.workflowId).query(stateQuery);
      approvals = state.approvals;
      customerId = state.customerId;
    } catch {
      continue;
    }
    for (const a of approvals) {
      if (a.status !== 'pending' && a.status !== 'escalated') continue;
      rows.push({
        conversationId: info.workflowId,
        customerId,
        approvalId: a.id,
        status: a.status,
        orderId: a.orderId,
        amount: a.amountCents / 100,
        agent: a.agent,
        requestedAt: a.requestedAt,
        ageSeconds: Math.max(0, Math.round((nowMs - Date.parse(a.requestedAt)) / 1000)),
        deadline: a.deadline,
      });
    }
  }
  return rows.sort((x, y) => y.ageSeconds - x.ageSeconds);
}

/** `45s`, `12m 5s`, `3h 10m`, `2d 4h` */
export function formatAge(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3_600);
  const m = Math.floor((seconds % 3_600) / 60);
  const s = seconds % 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

export function formatPendingRows(rows: PendingApprovalRow[]): string {
  return formatTable(
    ['CONVERSATION', 'APPROVAL', 'CUSTOMER', 'ORDER', 'AMOUNT', 'AGENT', 'AGE', 'STATUS', 'DEADLINE'],
    rows.map((r) => [
      r.conversationId,
      r.approvalId,
      r.customerId,
      r.orderId,
      formatCents(Math.round(r.amount * 100)),
      r.agent,
      formatAge(r.ageSeconds),
      r.status,
      r.status === 'escalated' ? '-' : r.deadline,
    ]),
  );
}

export function registerApprovalCommands(program: Command): void {
  program
    .command('approvals')
    .description(
      'list every refund waiting for a person, across conversations: customer, amount, age, the agent that asked',
    )
    .option('-n, --limit <n>', 'look at most at this many conversations', positiveIntArg, 100)
    .addHelpText(
      'after',
      `\nFound through the PendingApprovals search attribute (${PENDING_QUERY}); it is updated asynchronously, so a new request can take a second to show.`,
    )
    .action(async (opts: { limit: number }, cmd: Command) => {
      const client = await connect();
      const rows = await listPendingApprovals(client, opts.limit);
      print(cmd, rows.length ? formatPendingRows(rows) : 'no approvals are pending', rows);
    });

  for (const decision of ['approve', 'reject'] as const) {
    program
      .command(decision)
      .description(
        decision === 'approve'
          ? 'approve a pending refund: it is made once, and the customer is told'
          : 'reject a pending refund: nothing is refunded, and the customer is told',
      )
      .argument('<id>', 'conversation id', conversationIdArg)
      .argument('<approval id>', 'e.g. apr-1-1-0 (see `approvals` or `state`)')
      .requiredOption(
        '--by <name>',
        'who decides (must be one of DESK_APPROVERS when the conversation was started with it; never the customer)',
      )
      .option('--note <text>', 'why, kept in the trail (not shown to the customer)')
      .action(async (id: string, approvalId: string, opts: { by: string; note?: string }, cmd: Command) => {
        const handle: ConversationHandle = await conversationHandle(id);
        const outcome = await decideApproval(handle, {
          approvalId,
          decision,
          by: opts.by,
          ...(opts.note !== undefined && { note: opts.note }),
        });
        const a = outcome.approval;
        const refund = a.refundId
          ? ` (refund ${a.refundId})`
          : a.refundError
            ? ` (refund failed: ${a.refundError})`
            : '';
        print(
          cmd,
          [
            `${a.id} ${a.status} by ${a.decidedBy ?? opts.by}: refund ${formatCents(a.amountCents)} for order ${a.orderId}${refund}`,
            `${a.agent}> ${outcome.text}`,
          ].join('\n'),
          { id, ...outcome },
        );
      });
  }
}
