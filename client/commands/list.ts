/**
 * `list`: conversations found through the desk's search attributes (CurrentAgent, CustomerId,
 * HandoffCount) with a visibility query, the same query one can paste into the Web UI.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { Option, type Command } from 'commander';
import { AGENT_NAMES, isAgentName } from '../../agents';
import {
  CURRENT_AGENT,
  CUSTOMER_ID,
  HANDOFF_COUNT,
  PENDING_APPROVALS,
  USAGE_MEMO,
  WORKFLOW_TYPE,
} from '../../workflows/messages';
import { formatUsd, type UsageMemo } from '../../contract/usage';
import { checkCustomerId } from '../conversations';
import { connect, customerArg, positiveIntArg, print } from './context';
import { formatTable, formatTime } from './format';

export interface ListFilter {
  agent?: string;
  customer?: string;
  /** Only conversations still running. */
  open?: boolean;
  /** Only conversations that have ended (completed, terminated, ...). */
  closed?: boolean;
  /** Only conversations with a refund approval awaiting a decision. */
  pendingApproval?: boolean;
}

export interface ConversationRow {
  id: string;
  customerId: string | null;
  agent: string | null;
  handoffs: number | null;
  /** Approvals awaiting a decision; null until the conversation has had one. */
  pendingApprovals: number | null;
  /** Temporal's execution status, lower case: running, completed, terminated, ... */
  status: string;
  startTime: string;
  /** Tokens and cost from the conversation's memo; null before its first model step reported usage. */
  usage: UsageMemo | null;
}

/** A visibility-query string literal. Values are validated first; this also escapes, in case. */
export function quote(value: string): string {
  if (/[\u0000-\u001f]/.test(value))
    throw new Error(`control characters are not allowed in a filter value: ${JSON.stringify(value)}`);
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** e.g. `WorkflowType = 'conversation' AND CurrentAgent = 'order' AND CustomerId = 'alice' AND ExecutionStatus = 'Running'` */
export function listQuery(filter: ListFilter): string {
  const parts = [`WorkflowType = ${quote(WORKFLOW_TYPE)}`];
  if (filter.agent !== undefined) {
    if (!isAgentName(filter.agent))
      throw new Error(`unknown agent ${JSON.stringify(filter.agent)}: use one of ${AGENT_NAMES.join(', ')}`);
    parts.push(`${CURRENT_AGENT.name} = ${quote(filter.agent)}`);
  }
  if (filter.customer !== undefined) parts.push(`${CUSTOMER_ID.name} = ${quote(checkCustomerId(filter.customer))}`);
  if (filter.open && filter.closed) throw new Error('a conversation cannot be both open and closed: pick one');
  if (filter.open) parts.push(`ExecutionStatus = 'Running'`);
  if (filter.closed) parts.push(`ExecutionStatus != 'Running'`);
  if (filter.pendingApproval) parts.push(`${PENDING_APPROVALS.name} > 0`);
  return parts.join(' AND ');
}

export function toRow(info: WorkflowExecutionInfo): ConversationRow {
  const attrs = info.typedSearchAttributes;
  return {
    id: info.workflowId,
    customerId: attrs.get(CUSTOMER_ID) ?? null,
    agent: attrs.get(CURRENT_AGENT) ?? null,
    handoffs: attrs.get(HANDOFF_COUNT) ?? null,
    pendingApprovals: attrs.get(PENDING_APPROVALS) ?? null,
    status: info.status.name.toLowerCase(),
    startTime: info.startTime.toISOString(),
    usage: usageOf(info.memo?.[USAGE_MEMO]),
  };
}

/** The memo's usage, if it is one: a memo is whatever the workflow wrote, read defensively. */
function usageOf(raw: unknown): UsageMemo | null {
  const u = raw as Partial<UsageMemo> | undefined;
  if (!u || typeof u.inputTokens !== 'number' || typeof u.outputTokens !== 'number') return null;
  return {
    steps: Number(u.steps) || 0,
    inputTokens: u.inputTokens,
    outputTokens: u.outputTokens,
    cachedInputTokens: Number(u.cachedInputTokens) || 0,
    costUsd: typeof u.costUsd === 'number' ? u.costUsd : null,
    estimated: u.estimated === true,
  };
}

/** Newest first (the server's order), at most `limit`. */
export async function listConversations(client: Client, query: string, limit: number): Promise<ConversationRow[]> {
  const rows: ConversationRow[] = [];
  for await (const info of client.workflow.list({ query, pageSize: Math.min(limit, 100) })) {
    rows.push(toRow(info));
    if (rows.length >= limit) break;
  }
  return rows;
}

export function formatRows(rows: ConversationRow[]): string {
  return formatTable(
    ['ID', 'CUSTOMER', 'AGENT', 'HANDOFFS', 'TOKENS', 'COST', 'STATUS', 'STARTED'],
    rows.map((r) => [
      r.id,
      r.customerId ?? '-',
      r.agent ?? '-',
      r.handoffs === null ? '-' : String(r.handoffs),
      // in/out, and `est` when the counts are estimates (the offline model's)
      r.usage ? `${r.usage.inputTokens}/${r.usage.outputTokens}${r.usage.estimated ? ' est' : ''}` : '-',
      !r.usage ? '-' : r.usage.costUsd === null ? 'unknown' : formatUsd(r.usage.costUsd),
      r.status,
      formatTime(new Date(r.startTime)),
    ]),
  );
}

export function registerListCommand(program: Command): void {
  program
    .command('list')
    .description(
      'find conversations by their search attributes (current agent, customer, status): open ones first, then the most recently closed',
    )
    .addOption(new Option('-a, --agent <name>', 'only conversations this agent has now').choices(AGENT_NAMES))
    .option('-c, --customer <id>', "only this customer's conversations", customerArg)
    .option('--open', 'only conversations still running')
    .option('-n, --limit <n>', 'at most this many', positiveIntArg, 50)
    .addHelpText(
      'after',
      `\nThe filters become a visibility query, usable in the Web UI too, e.g.\n  ${listQuery({ agent: 'order', customer: 'alice', open: true })}\nSearch attributes are updated asynchronously: a change can take a second to show.`,
    )
    .action(async (opts: { agent?: string; customer?: string; open?: boolean; limit: number }, cmd: Command) => {
      const query = listQuery(opts);
      const client = await connect();
      const rows = await listConversations(client, query, opts.limit);
      print(cmd, rows.length ? formatRows(rows) : `no conversations match: ${query}`, rows);
    });
}
