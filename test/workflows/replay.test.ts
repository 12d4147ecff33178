/**
 * The replay guard: every recorded history of every release (test/histories/<release>/, recorded
 * as test/helpers/histories.ts says) replayed against today's workflow code. Each is a
 * conversation that may be running in production right now, started on that release; if today's
 * code would take another branch on it, the conversation would be stuck on a non-determinism
 * error. That fails here, before it ships, naming the history and the event, and what to do.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { HISTORIES_DIR } from '../helpers/histories';
import { bundleWorkflows, quietRuntime } from '../helpers/temporal-env';

const FILES = readdirSync(HISTORIES_DIR, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.json'))
  .sort();

let bundle: WorkflowBundleWithSourceMap;
beforeAll(async () => {
  quietRuntime();
  bundle = await bundleWorkflows();
}, 120_000);

test('every release kept has recorded histories to replay, the scenarios, rollbacks, a guard and a continue-as-new among them', () => {
  const releases = new Set(FILES.map((f) => f.split(path.sep)[0]!));
  expect(releases.size).toBeGreaterThanOrEqual(2);
  const latest = [...releases].sort(compareVersions).at(-1)!;
  const names = FILES.filter((f) => f.startsWith(`${latest}${path.sep}`)).map((f) => path.basename(f));
  for (const kind of ['scenario-1', 'scenario-2', 'scenario-3', 'rollback-', 'guard-', 'continue-as-new.run1']) {
    expect([kind, names.some((n) => n.startsWith(kind))]).toEqual([kind, true]);
  }
});

test.each(FILES)("%s replays on today's code", async (file) => {
  // Decoded here rather than by the SDK's protojson helper, which jest's module sandbox trips up.
  const history = temporal.api.history.v1.History.fromObject(
    JSON.parse(readFileSync(path.join(HISTORIES_DIR, file), 'utf8')) as object,
  );
  try {
    await Worker.runReplayHistory({ workflowBundle: bundle, replayName: file }, history, path.basename(file, '.json'));
  } catch (err) {
    throw new Error(explain(file, history, err), { cause: err });
  }
});

/** The failure as a release engineer needs it: which history, which event, why, and what to do. */
function explain(file: string, history: temporal.api.history.v1.History, err: unknown): string {
  const full = err instanceof Error ? err.message : String(err);
  // The SDK's message wraps core's: keep core's sentence, e.g. "Nondeterminism error: Timer machine
  // does not handle this event: HistoryEvent(id: 11, ActivityTaskScheduled)".
  const message = /\] (Nondeterminism error: [^"]*)/.exec(full)?.[1] ?? full;
  const eventId = /HistoryEvent\(id: (\d+)/.exec(message)?.[1] ?? /event\D{0,6}(\d+)/i.exec(message)?.[1];
  const event = eventId ? history.events.find((e) => String(e.eventId) === eventId) : undefined;
  const where = event ? ` at event ${eventId} (${eventName(event)})` : '';
  return [
    `Recorded history test/histories/${file} no longer replays${where}: ${message}`,
    'A conversation of this shape, started on that release, may be running now: with this change it would',
    'be stuck on a non-determinism error. Guard the change with patched() (old branch for running',
    'conversations, new branch for new ones), or ship it as a new worker version (README: "Changing an',
    'agent while conversations run"). Do not re-record an older release\'s history to make this pass.',
  ].join('\n');
}

function eventName(event: temporal.api.history.v1.IHistoryEvent): string {
  const type = event.eventType;
  return typeof type === 'number' ? (temporal.api.enums.v1.EventType[type] ?? String(type)) : String(type);
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}
