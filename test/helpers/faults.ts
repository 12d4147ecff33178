/**
 * Fault injection for crash tests, kept out of the product's code: a wrapper around the worker's
 * activities that SIGKILLs the worker process right after a chosen tool's transaction commits and
 * before the activity can report back, the worst moment for exactly-once. It fires at most once per
 * marker file, created before the kill, so the retry on a fresh worker runs normally and must
 * replay the recorded outcome.
 */
import { writeFileSync } from 'node:fs';
import type { DeskActivities } from '../../activities';

export interface KillAfterCommit {
  tool: string;
  /** Created (exclusively) just before the kill, holding the idempotency key; its existence disarms the fault. */
  marker: string;
  /** What "kill" does; SIGKILL of this process by default. */
  kill?: () => void;
}

export function killAfterCommit(activities: DeskActivities, fault: KillAfterCommit): DeskActivities {
  const kill = fault.kill ?? (() => process.kill(process.pid, 'SIGKILL'));
  return {
    ...activities,
    async runTool(input) {
      const result = await activities.runTool(input);
      // A result that is not replayed was just committed by this call: the moment to die.
      if (input.tool === fault.tool && result.ok && !result.replayed) {
        try {
          writeFileSync(fault.marker, `${input.idempotencyKey}\n`, { flag: 'wx' });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') return result; // fired once already
          throw err; // a marker that cannot be written would make the fault fire on every retry
        }
        kill();
      }
      return result;
    },
  };
}
