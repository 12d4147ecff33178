/**
 * Activity option presets, named once, and the activity proxies built from them. Temporal is the
 * only retry owner: the openai client has maxRetries 0 and the tools never retry themselves.
 * A dead worker is noticed only through these timeouts, so they are sized to the work.
 */
import {
  proxyActivities,
  proxyLocalActivities,
  type ActivityOptions,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import type { DeskActivities } from '../activities';

/**
 * One model step: a slow model gets two minutes, but the step heartbeats while it waits
 * (activities/heartbeat.ts), so a dead worker is noticed within the heartbeat timeout. A bounded
 * number of attempts, then the turn apologises.
 */
export const MODEL_STEP: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
};

/**
 * One tool call against the shop. Short timeout so a crashed worker costs seconds; unlimited
 * attempts are safe because every mutating tool is idempotent under the workflow's key.
 */
export const TOOL_CALL: ActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
};

export const { callModel } = proxyActivities<Pick<DeskActivities, 'callModel'>>(MODEL_STEP);
export const { runTool } = proxyActivities<Pick<DeskActivities, 'runTool'>>(TOOL_CALL);

/**
 * A tool call as a local activity (the `local-tools` execution mode, workflows/messages.ts): run by
 * the worker that runs the workflow task and recorded as one marker with its result, with no server
 * round trip to schedule, dispatch and complete it. Same timeout and retries; a retry whose backoff
 * exceeds `localRetryThreshold` waits on a workflow timer instead of holding the task. The shop's
 * ledger keeps a mutation exactly-once however often a call is retried or replayed.
 */
export const LOCAL_TOOL_CALL: LocalActivityOptions = {
  startToCloseTimeout: TOOL_CALL.startToCloseTimeout,
  retry: TOOL_CALL.retry,
  localRetryThreshold: '10 seconds',
};

export const { runTool: runToolLocally } = proxyLocalActivities<Pick<DeskActivities, 'runTool'>>(LOCAL_TOOL_CALL);

/**
 * A model step as a local activity (the `local` execution mode): run by the worker that runs the
 * workflow task, so a turn's steps need no server round trip each. The same timeout and attempts;
 * the worker heartbeats the workflow task while the step runs (at 80 % of its 10 s timeout), so a
 * rollback signal reaches the workflow then at the latest, which cancels the step; a rollback from
 * the desk's clients stops it sooner (activities/interrupts.ts). A retry whose backoff exceeds
 * `localRetryThreshold` waits on a timer.
 */
export const LOCAL_MODEL_STEP: LocalActivityOptions = {
  startToCloseTimeout: MODEL_STEP.startToCloseTimeout,
  retry: MODEL_STEP.retry,
  localRetryThreshold: LOCAL_TOOL_CALL.localRetryThreshold,
};

export const { callModelLocal } = proxyLocalActivities<Pick<DeskActivities, 'callModelLocal'>>(LOCAL_MODEL_STEP);

/**
 * The tools that change the shop (activities/tools declares each tool's `mutating`; a unit test keeps
 * this list in step). Named here because workflow code cannot import the tools themselves. In the
 * `local` execution mode these still run as ordinary activities (turn.ts `runsAsActivity`).
 */
export const MUTATING_TOOLS: ReadonlySet<string> = new Set([
  'process_refund',
  'cancel_order',
  'update_shipping_address',
  'create_support_ticket',
]);
