/**
 * One-line summaries shown in the Temporal UI next to each activity, so the event history reads
 * like a run log: `billing: process_refund order 12345 $99.99`. The words after the tool's name
 * come from the tool's own declaration (its `summary`, computed by the model step); this file only
 * frames and bounds them. Pure and forgiving: a summary never fails a workflow task.
 */
import { oneLine } from '../contract/limits';

export function modelStepSummary(agent: string): string {
  return `${agent}: model step`;
}

/** One line of at most 160 characters, whatever the model wrote: a summary never spills over. */
export function toolCallSummary(agent: string, tool: string, summary: string | undefined): string {
  return oneLine(`${agent}: ${oneLine(tool, 64)}${summary ? ` ${summary}` : ''}`, 160);
}
