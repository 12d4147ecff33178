/**
 * Heartbeats for long activity work. A worker that dies mid-activity is noticed by Temporal only
 * through a timeout: with a heartbeat every couple of seconds and a heartbeat timeout of about
 * ten (workflows/options.ts), that is seconds, not the activity's whole start-to-close timeout.
 * Heartbeats are also how an activity hears that it was cancelled, so the work gets the
 * activity's cancellation signal.
 */
import { Context } from '@temporalio/activity';

/** How often to heartbeat; the SDK throttles to 80 % of the heartbeat timeout anyway. */
const HEARTBEAT_EVERY_MS = 2_000;

/** Runs `work`, heartbeating meanwhile when inside an activity; outside one (unit tests) it just runs it. */
export async function withHeartbeat<T>(work: (cancelled: AbortSignal | undefined) => Promise<T>): Promise<T> {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return work(undefined);
  }
  ctx.heartbeat();
  const timer = setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
  try {
    return await work(ctx.cancellationSignal);
  } finally {
    clearInterval(timer);
  }
}
