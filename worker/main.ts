/**
 * `npm run worker`: one desk worker against whatever Temporal TEMPORAL_ADDRESS names (the dev
 * server by default). Kill it at any point: the conversation waits, and a new worker carries on.
 * Ctrl-C (SIGINT/SIGTERM) drains it cleanly.
 */
import { exitOnError, runWorker } from './run';

runWorker().catch(exitOnError);
