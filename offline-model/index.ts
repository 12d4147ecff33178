/**
 * The offline deterministic stand-in model: an OpenAI-compatible Chat Completions server on
 * loopback, used when no OPENAI_API_KEY is set and by the end-to-end tests.
 */
export {
  startOfflineModel,
  send as sendJson,
  OFFLINE_MODEL_ID,
  type OfflineModel,
  type OfflineModelOptions,
} from './server';
export { completionChunks, offlineChunkDelayMs, sendEventStream, textPieces, type CompletionBody } from './stream';
export { decide, type Decision, type WireRequest } from './policy';
