/**
 * Recorded histories of real conversations (the seed scenarios, recorded by scenarios.test.ts
 * with RECORD_HISTORIES=1) replayed against today's workflow code. A change that would break a
 * conversation already running in production fails here, before it ships; such a change needs
 * `patched()` or a new workflow version, not a re-recording.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { bundleWorkflows, quietRuntime } from '../helpers/temporal-env';

const DIR = path.join(__dirname, '..', 'histories');
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.json'));

let bundle: WorkflowBundleWithSourceMap;
beforeAll(async () => {
  quietRuntime();
  bundle = await bundleWorkflows();
}, 120_000);

test('there are recorded histories to replay', () => {
  expect(FILES.length).toBeGreaterThanOrEqual(3);
});

test.each(FILES)('%s replays without non-determinism', async (file) => {
  // Decoded here rather than by the SDK's protojson helper, which jest's module sandbox trips up.
  const history = temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(path.join(DIR, file), 'utf8')) as object);
  await expect(Worker.runReplayHistory({ workflowBundle: bundle, replayName: file }, history, path.basename(file, '.json'))).resolves.toBeUndefined();
});
