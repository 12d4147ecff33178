/**
 * Prints a turn the way a support lead reads it: who had the customer, each handoff with its
 * reason, each tool call with its arguments and result, and the reply. Shared by the demo and the
 * client commands so every surface tells the story the same way.
 */
import type { AgentReply, ConversationSnapshot, ExecutionMode, TurnEvent } from '../workflows/messages';
import { formatCents } from '../contract/refunds';
import { formatCounts } from '../contract/usage';
import { compactArgs } from './commands/format';

export function formatEvent(event: TurnEvent): string {
  switch (event.type) {
    case 'model_step':
      return event.outcome === 'failed'
        ? `  [${event.agent}] model step failed: ${event.error ?? 'unknown error'}`
        : event.outcome === 'interrupted'
          ? `  [${event.agent}] model step abandoned (rollback)`
          : `  [${event.agent}] thinking…`;
    case 'tool_call':
      return `  [${event.agent}] ${event.tool}(${compactArgs(event.arguments)}) -> ${formatResult(event.result)}`;
    case 'tool_skipped':
      return `  [${event.agent}] ${event.tool} not run: ${event.why}`;
    case 'handoff':
      return `  HANDOFF ${event.from} -> ${event.to}: ${event.reason}`;
    case 'handoff_refused':
      return `  HANDOFF REFUSED ${event.from} -> ${event.to}: ${event.why}`;
    case 'rollback':
      return event.noop
        ? `  ROLLBACK (already with ${event.to}): ${event.reason}`
        : `  ROLLBACK ${event.from} -> ${event.to}: ${event.reason}`;
    case 'guard':
      return `  GUARD ${event.limit} limit reached with ${event.agent}`;
    case 'approval_requested':
      return `  APPROVAL NEEDED ${event.approvalId}: refund ${formatCents(event.amountCents)} for order ${event.orderId} waits for a supervisor (deadline ${event.deadline})`;
  }
}

/** The turn's run log without the "thinking" lines, then the reply labelled with its agent. */
export function formatTurn(reply: AgentReply): string {
  const lines = reply.events
    .filter(
      (e) =>
        !(e.type === 'model_step' && (e.outcome === 'reply' || e.outcome === 'tool_calls' || e.outcome === 'refusal')),
    )
    .map(formatEvent);
  return [...lines, `${reply.agent}> ${reply.text}`].join('\n');
}

/** What `state` says of an execution mode other than the default (README "Execution modes"). */
const EXECUTION_NOTE: Partial<Record<ExecutionMode, string>> = {
  'local-tools': '   tool calls: local activities',
  local: '   model steps and reading tool calls: local activities',
};

export function formatState(state: ConversationSnapshot): string {
  const lines = [
    `agent: ${state.currentAgent}   status: ${state.status}${state.closedReason ? ` (${state.closedReason})` : ''}   turns: ${state.turn}${EXECUTION_NOTE[state.execution] ?? ''}`,
    `path: ${state.statistics.path}`,
    `handoffs: ${state.statistics.totalHandoffs}   rollbacks: ${state.statistics.rollbacks}   agents involved: ${state.statistics.agentsInvolved.join(', ')}`,
  ];
  if (state.trail.length) lines.push('trail:');
  for (const t of state.trail) {
    const head = `  turn ${t.turn} ${t.at}`;
    if (t.kind === 'handoff') lines.push(`${head} handoff ${t.from} -> ${t.to}: ${t.reason}`);
    else if (t.kind === 'handoff_refused') lines.push(`${head} refused ${t.from} -> ${t.to}: ${t.why}`);
    else if (t.kind === 'rollback')
      lines.push(`${head} rollback ${t.from} -> ${t.to}${t.noop ? ' (no-op)' : ''}: ${t.reason}`);
    else if (t.kind === 'guard') lines.push(`${head} guard ${t.limit} (${t.agent})`);
    else
      lines.push(
        `${head} approval ${t.approvalId} ${t.event}${t.by ? ` by ${t.by}` : ''}: refund ${formatCents(t.amountCents)} for order ${t.orderId}${t.note ? ` (${t.note})` : ''}`,
      );
  }
  lines.push(...formatUsage(state));
  lines.push(...formatApprovals(state));
  return lines.join('\n');
}

/** The usage block of `state`: the conversation's tokens and cost, then each agent's. */
export function formatUsage(state: Pick<ConversationSnapshot, 'usage'>): string[] {
  if (!state.usage) return ['usage: no model step has reported tokens yet'];
  const agents = Object.entries(state.usage.byAgent).map(([agent, counts]) => `  ${agent}: ${formatCounts(counts)}`);
  return [`usage: ${formatCounts(state.usage.total)}`, ...agents];
}

/** The approvals block of `state`: awaiting ones first, then the decided ones kept. */
export function formatApprovals(state: Pick<ConversationSnapshot, 'approvals' | 'approvalsFolded'>): string[] {
  const lines: string[] = [];
  const awaiting = state.approvals.filter((a) => a.status === 'pending' || a.status === 'escalated');
  const decided = state.approvals.filter((a) => !awaiting.includes(a));
  if (awaiting.length) lines.push('pending approvals:');
  for (const a of awaiting) {
    lines.push(
      `  ${a.id} ${a.status}: refund ${formatCents(a.amountCents)} for order ${a.orderId} asked by ${a.agent} at ${a.requestedAt}${a.status === 'pending' ? `, deadline ${a.deadline}` : `, escalated at ${a.escalatedAt ?? '?'}`} (${a.reason})`,
    );
  }
  if (decided.length) lines.push('decided approvals:');
  for (const a of decided) {
    const outcome = a.refundId ? `, refund ${a.refundId}` : a.refundError ? `, refund failed: ${a.refundError}` : '';
    lines.push(
      `  ${a.id} ${a.status} by ${a.decidedBy ?? '?'} at ${a.decidedAt ?? '?'}: refund ${formatCents(a.amountCents)} for order ${a.orderId}${outcome}${a.note ? ` (${a.note})` : ''}`,
    );
  }
  const f = state.approvalsFolded;
  if (f) lines.push(`  and older: ${f.approved} approved, ${f.rejected} rejected, ${f.expired} expired`);
  return lines;
}

function formatResult(
  result: TurnEvent extends infer _ ? Extract<TurnEvent, { type: 'tool_call' }>['result'] : never,
): string {
  if (!result.ok) return `refused (${result.code}): ${result.message}`;
  const text = JSON.stringify(result.data);
  return text.length > 160 ? `${text.slice(0, 159)}…` : text;
}
