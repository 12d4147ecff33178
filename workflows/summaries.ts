/**
 * One-line summaries shown in the Temporal UI next to each activity, so the event history reads
 * like a run log: `billing: process_refund order 12345 $99.99`. The words after the tool's name
 * come from the tool's own declaration (its `summary`, computed by the model step); this file only
 * frames and bounds them. Pure and forgiving: a summary never fails a workflow task.
 */

export function modelStepSummary(agent: string): string {
  return `${agent}: model step`;
}

export function toolCallSummary(agent: string, tool: string, summary: string | undefined): string {
  return clip(`${agent}: ${clip(tool, 64)}${summary ? ` ${summary}` : ''}`, 160);
}

/** One line, at most `max` characters: a summary never spills over. */
function clip(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
