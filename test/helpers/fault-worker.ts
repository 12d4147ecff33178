/**
 * A desk worker with a fault injected (test/helpers/faults.ts), for the crash tests: the same
 * worker as `npm run worker`, configured by DESK_FAULT=kill-after-commit:<tool> and
 * DESK_FAULT_MARKER=<file>. Spawned by spawnWorker({ ..., fault }) in test/helpers/e2e.ts.
 */
import { exitOnError, runWorker } from '../../worker/run';
import { killAfterCommit } from './faults';

const fault = /^kill-after-commit:(\w+)$/.exec(process.env.DESK_FAULT ?? '');
const marker = process.env.DESK_FAULT_MARKER;
if (!fault || !marker)
  exitOnError(new Error('fault-worker needs DESK_FAULT=kill-after-commit:<tool> and DESK_FAULT_MARKER=<file>'));

runWorker({ wrapActivities: (activities) => killAfterCommit(activities, { tool: fault[1]!, marker }) }).catch(
  exitOnError,
);
