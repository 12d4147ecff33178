/**
 * Recorded histories: the replay guard's material. Each release records a few of its
 * conversations (`RECORD_HISTORIES=<release> npx jest test/workflows`), into
 * test/histories/<release>/, and test/workflows/replay.test.ts replays every recorded history of
 * every release against today's code on every run: a change that would break a conversation
 * already running (started on an older release) fails CI, naming the history and the event.
 *
 * Recording is for a new release's own histories; never re-record an older release's to make a
 * failure go away: that failure is a running conversation that would be stuck.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { ABSENT_EXECUTION } from '../../workflows/messages';
import { TEST_EXECUTION } from './temporal-env';

export const HISTORIES_DIR = path.join(__dirname, '..', 'histories');

/** The release being recorded, or undefined when not recording. */
export function recordingRelease(): string | undefined {
  const release = process.env.RECORD_HISTORIES;
  if (!release) return undefined;
  if (!/^\d+\.\d+\.\d+$/.test(release))
    throw new Error(
      `RECORD_HISTORIES names the release the histories come from, e.g. 0.2.0 (got ${JSON.stringify(release)})`,
    );
  return release;
}

/**
 * Writes every run of a conversation's continue-as-new chain, oldest first: `<name>.json` for a
 * single run, `<name>.run1.json`, `<name>.run2.json` ... for a chain. Does nothing unless recording.
 */
export async function recordHistory(client: Client, workflowId: string, name: string): Promise<void> {
  const release = recordingRelease();
  if (!release) return;
  const runs: temporal.api.history.v1.IHistory[] = [];
  let runId: string | undefined = (await client.workflow.getHandle(workflowId).describe()).runId;
  while (runId) {
    const history: temporal.api.history.v1.IHistory = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    runs.unshift(history);
    const previous: string | null | undefined =
      history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
    runId = previous || undefined;
  }
  const dir = path.join(HISTORIES_DIR, release);
  mkdirSync(dir, { recursive: true });
  for (const [i, history] of runs.entries()) {
    // protojson-shaped (enum names, base64 bytes, string int64s): what Worker.runReplayHistory reads.
    const json = temporal.api.history.v1.History.toObject(history as temporal.api.history.v1.History, {
      longs: String,
      enums: String,
      bytes: String,
    });
    // Recorded in another execution mode than `activities` (DESK_TEST_EXECUTION): its own files.
    const stem = TEST_EXECUTION === ABSENT_EXECUTION ? name : `${name}.${TEST_EXECUTION}`;
    const file = runs.length === 1 ? `${stem}.json` : `${stem}.run${i + 1}.json`;
    writeFileSync(path.join(dir, file), `${JSON.stringify(json, null, 1)}\n`);
  }
}
