/**
 * A model step that a rollback can stop while it runs as a local activity (the `local` execution
 * mode). The workflow task that runs a local activity stays open until it ends, so a rollback signal
 * waits on the server meanwhile (until the task heartbeats, at 80 % of its timeout). The desk's
 * clients write a row to the interrupts table once the server has accepted the signal
 * (client/rollback.ts); the step watches for it, stops its model request and answers `yielded`, the
 * task ends, and the workflow receives the signal at once (workflows/turn.ts).
 */
import type {
  LocalModelStepRequest,
  LocalModelStepResult,
  ModelStepRequest,
  ModelStepResult,
} from '../contract/transcript';
import type { InterruptStore } from './store';

/** How often a running step looks for an interrupt: one indexed read per step in flight. */
export const INTERRUPT_POLL_MS = 100;

export function interruptible(
  step: (request: ModelStepRequest, stop?: AbortSignal) => Promise<ModelStepResult>,
  interrupts: InterruptStore | undefined,
  pollMs = INTERRUPT_POLL_MS,
): (request: LocalModelStepRequest) => Promise<LocalModelStepResult> {
  return async ({ interrupt, ...input }) => {
    if (!interrupt || !interrupts) return step(input);
    const stop = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const interrupted = new Promise<{ kind: 'yielded' }>((resolve) => {
      const look = () => {
        if (done) return;
        timer = setTimeout(() => {
          // A read that fails (a busy database) is only a missed look: the signal still arrives, later.
          interrupts.newestAfter(interrupt.conversationId, interrupt.since).then(
            (at) => (at === undefined ? look() : (stop.abort(new Error('rollback')), resolve({ kind: 'yielded' }))),
            () => look(),
          );
        }, pollMs);
      };
      look();
    });
    const running = step(input, stop.signal);
    try {
      // Whichever comes first; a step that ignores `stop` is abandoned, its answer unused.
      return await Promise.race([running, interrupted]);
    } catch (err) {
      if (stop.signal.aborted) return { kind: 'yielded' };
      throw err;
    } finally {
      done = true;
      clearTimeout(timer);
      running.catch(() => undefined);
    }
  };
}
