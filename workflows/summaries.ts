/**
 * One-line summaries shown in the Temporal UI next to each activity, so the event history reads
 * like a run log: `billing: process_refund order 12345 $99.99`. Pure and forgiving: a summary
 * never fails a workflow task, whatever the model wrote.
 */

export function modelStepSummary(agent: string): string {
  return `${agent}: model step`;
}

export function toolCallSummary(agent: string, tool: string, argumentsJson: string): string {
  const parts = [clip(tool, 64)];
  let args: unknown;
  try {
    args = JSON.parse(argumentsJson);
  } catch {
    args = undefined;
  }
  if (args && typeof args === 'object') {
    const a = args as Record<string, unknown>;
    if (typeof a.order_id === 'string' || typeof a.order_id === 'number') parts.push(`order ${String(a.order_id).replace(/^#/, '')}`);
    if (typeof a.amount === 'number') parts.push(`$${a.amount.toFixed(2)}`);
    if (typeof a.query === 'string') parts.push(`"${clip(a.query, 40)}"`);
    if (typeof a.subject === 'string') parts.push(`"${clip(a.subject, 40)}"`);
  }
  return clip(`${agent}: ${parts.join(' ')}`, 160);
}

/** One line, at most `max` characters: a summary never spills over. */
function clip(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
