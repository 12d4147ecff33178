/**
 * Reads a conversation's whole continue-as-new chain from the server and reports what a hostile
 * input test checks: workflow task failures (the loop this product must never enter), each run's
 * history size in bytes as the server stores it, and what each run was started with.
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

export interface RunHealth {
  runId: string;
  events: number;
  /** The encoded size of the run's history. */
  bytes: number;
  /** Encoded size of the run's start input (for a continued run: the carried state). */
  startInputBytes: number;
}

export interface ChainHealth {
  /** Oldest first. */
  runs: RunHealth[];
  /** One line per WorkflowTaskFailed event, in any run: `<runId> #<eventId>: <cause> <message>`. */
  taskFailures: string[];
  /**
   * WorkflowTaskFailed events the server itself causes, counted apart, since each is retried at
   * once with the new events and heals itself rather than failing again:
   * - UNHANDLED_COMMAND: the workflow tried to complete while a new signal or update had just arrived;
   * - FORCE_CLOSE_COMMAND: signals buffered during a task outgrew the server's buffer (2 MB: a
   *   client padding its signals), so the server closed the task to flush them into history.
   */
  serverRetries: number;
}

const SERVER_CAUSES = new Set<number>([
  temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
  temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND,
]);

export async function historyHealth(client: Client, workflowId: string): Promise<ChainHealth> {
  const runs: RunHealth[] = [];
  const taskFailures: string[] = [];
  let serverRetries = 0;
  let runId: string | undefined = (await client.workflow.getHandle(workflowId).describe()).runId;
  while (runId) {
    const history: temporal.api.history.v1.IHistory = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events: temporal.api.history.v1.IHistoryEvent[] = history.events ?? [];
    const started = events[0]?.workflowExecutionStartedEventAttributes;
    for (const e of events) {
      const failed = e.workflowTaskFailedEventAttributes;
      if (failed) {
        const cause = temporal.api.enums.v1.WorkflowTaskFailedCause[failed.cause ?? 0];
        if (SERVER_CAUSES.has(failed.cause ?? 0)) {
          serverRetries++;
          continue;
        }
        taskFailures.push(`${runId} #${String(e.eventId)}: ${cause} ${failed.failure?.message ?? ''}`);
      }
    }
    const input = started?.input ? temporal.api.common.v1.Payloads.encode(started.input).finish().length : 0;
    runs.unshift({
      runId,
      events: events.length,
      bytes: temporal.api.history.v1.History.encode(history).finish().length,
      startInputBytes: input,
    });
    const previous: string | null | undefined = started?.continuedExecutionRunId;
    runId = previous || undefined;
  }
  return { runs, taskFailures, serverRetries };
}
