/**
 * A rollback, as every desk client sends it: the `rollback` signal, then, once the server has
 * accepted it, a row in the interrupts table of the shop database (activities/store/interrupts.ts)
 * when the client can reach that database. The row is what stops a model step that is running as a
 * local activity (the `local` execution mode) at once; without it the signal still arrives, at the
 * workflow task's next heartbeat (README "Execution modes"). Written after the signal, never before:
 * a stopped step then finds the signal already waiting.
 */
import { existsSync } from 'node:fs';
import { defaultShopLocation, isPostgresUrl, openShopStore, type InterruptStore } from '../activities/store';
import { rollbackSignal } from '../workflows/messages';
import type { ConversationHandle } from './conversations';

export interface RollbackSent {
  /** Whether the interrupt row was written too (a step in flight stops at once). */
  interrupted: boolean;
}

export async function requestRollback(
  handle: Pick<ConversationHandle, 'signal' | 'workflowId'>,
  reason: string | undefined,
  interrupts: InterruptStore | undefined,
): Promise<RollbackSent> {
  await handle.signal(rollbackSignal, reason ? { reason } : {});
  if (!interrupts) return { interrupted: false };
  try {
    await interrupts.add(handle.workflowId);
    return { interrupted: true };
  } catch {
    return { interrupted: false }; // the signal is on its way regardless
  }
}

/**
 * The interrupts table of the shop database the workers use (SHOP_DATABASE_URL, else SHOP_DB), for a
 * one-off command: undefined when there is no such database here (a client on another machine),
 * rather than creating an empty shop.
 */
export async function openInterrupts(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ interrupts: InterruptStore; close(): Promise<void> } | undefined> {
  const location = defaultShopLocation(env);
  if (!isPostgresUrl(location) && !existsSync(location)) return undefined;
  try {
    const store = await openShopStore(location);
    return { interrupts: store.interrupts, close: () => store.close() };
  } catch {
    return undefined;
  }
}
