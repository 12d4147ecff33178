/**
 * How many workflow tasks one worker runs at once, so that replays cannot time out in a loop.
 *
 * A workflow task for a conversation the worker has not cached (after a restart, a takeover, or an
 * eviction) first replays the run's whole history: CPU work on the worker's one workflow thread,
 * about 1.9 s for a 90-turn run on the 2-core machine the benchmark ran on. Each task must finish
 * within its workflow task timeout from the moment the worker takes it, and tasks taken together
 * share the thread. With the SDK's default of 40 (and Temporal's 10 s timeout), a restarted worker
 * takes every waiting conversation at once: none finishes in time, and every retry starts them all
 * over again. `npm run bench -- --sections restart` shows it: 20 conversations at turn 90, a worker
 * restart, one message each: none answered, every task timed out. With 4 at once the others wait on
 * the server, where no timeout runs, and a task's time no longer grows with how many are waiting;
 * conversations also start with a 30 s task timeout (WORKFLOW_TASK_TIMEOUT_MS, workflows/messages.ts)
 * so that four replays of a long run fit. README: "A worker restart".
 *
 * Four cost little in the `activities` mode, whose tasks are milliseconds of workflow code. A
 * `local` turn holds its task for the whole turn (its model steps run inside it), so a worker runs at
 * most this many `local` turns at once: raise DESK_WORKFLOW_TASK_SLOTS where conversations are mostly
 * `local`, keeping slots times the replay of a capped `local` run inside its 10 s timeout.
 *
 * Tried first: many slots for the sticky queue and two for the shared queue, through a custom slot
 * supplier. The SDK also hands tasks from the shared queue to slots reserved for sticky polls, so
 * replays still piled up (2 of 20 answered).
 */
export const DEFAULT_WORKFLOW_TASK_SLOTS = 4;
/** The SDK needs 2 when workflows are cached; above 40 (its own default) nothing is gained here. */
export const WORKFLOW_TASK_SLOTS_RANGE = [2, 40] as const;

/**
 * DESK_WORKFLOW_TASK_SLOTS: how many workflow tasks one worker runs at once (default 4). A bad
 * value is an error, before anything starts.
 */
export function workflowTaskSlotsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.DESK_WORKFLOW_TASK_SLOTS;
  if (raw === undefined || raw.trim() === '') return DEFAULT_WORKFLOW_TASK_SLOTS;
  const n = Number(raw);
  const [min, max] = WORKFLOW_TASK_SLOTS_RANGE;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`DESK_WORKFLOW_TASK_SLOTS=${JSON.stringify(raw)} must be a whole number from ${min} to ${max}`);
  }
  return n;
}
