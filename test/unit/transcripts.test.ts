/**
 * How a model step assembles its transcript (activities/transcripts.ts): from the request alone
 * on a run's first step, from the worker's cache plus what is new, or from the workflow's own
 * transcript when the cache cannot; and never a transcript other than the one the workflow named.
 */
import { ApplicationFailure } from '@temporalio/common';
import { EMPTY_DIGEST, digestOf } from '../../contract/digest';
import type { ChatMessage, ModelStepRequest } from '../../contract/transcript';
import { createTranscriptResolver, type TranscriptSource } from '../../activities/transcripts';

const m = (i: number): ChatMessage => ({ role: 'user', content: `message ${i}` });
const transcript = (n: number) => Array.from({ length: n }, (_, i) => m(i));

/** The request the workflow would send for a transcript of `n` messages after one of `sent`. */
function request(n: number, sent?: number, runId = 'run-1'): ModelStepRequest {
  const all = transcript(n);
  const ref = { workflowId: 'wf', runId, length: n, digest: digestOf(all) };
  if (sent === undefined)
    return { agent: 'receptionist', transcript: ref, delta: { from: 0, baseDigest: EMPTY_DIGEST, messages: all } };
  return {
    agent: 'receptionist',
    transcript: ref,
    delta: { from: sent, baseDigest: digestOf(all.slice(0, sent)), messages: all.slice(sent) },
  };
}

function source(held: () => ChatMessage[]): TranscriptSource & { calls: number } {
  const s = {
    calls: 0,
    fetch: async () => {
      s.calls++;
      return held();
    },
  };
  return s;
}

test("a run's first step carries the whole transcript; later ones only what is new, from the cache", async () => {
  const src = source(() => transcript(99));
  const r = createTranscriptResolver(src);
  expect(await r.resolve(request(3))).toEqual(transcript(3));
  expect(await r.resolve(request(5, 3))).toEqual(transcript(5));
  expect(await r.resolve(request(8, 5))).toEqual(transcript(8));
  expect(r.stats).toEqual({ full: 1, cached: 2, fetched: 0 });
  expect(src.calls).toBe(0);
});

test('a retried step finds what the first attempt assembled', async () => {
  const r = createTranscriptResolver(source(() => []));
  await r.resolve(request(3));
  await r.resolve(request(5, 3));
  expect(await r.resolve(request(5, 3))).toEqual(transcript(5));
  expect(r.stats.fetched).toBe(0);
});

test('a worker without the transcript (another worker, a restart, no cache) asks the workflow, and keeps only what was named', async () => {
  const src = source(() => [...transcript(5), { role: 'event', content: 'a rollback note added since' }]);
  const r = createTranscriptResolver(src, { maxChars: 0 });
  expect(await r.resolve(request(5, 3))).toEqual(transcript(5));
  expect(await r.resolve(request(5, 3))).toEqual(transcript(5)); // no cache at all: asks again
  expect(src.calls).toBe(2);
});

test('a cached transcript of another run, or one that does not extend, is not used', async () => {
  const src = source(() => transcript(5));
  const r = createTranscriptResolver(src);
  await r.resolve(request(3, undefined, 'run-0'));
  expect(await r.resolve(request(5, 3))).toEqual(transcript(5)); // run-1: fetched
  await r.resolve(request(4));
  expect(await r.resolve(request(5, 3))).toEqual(transcript(5)); // the cache holds 4, the step extends 3
  expect(src.calls).toBe(2);
});

test('when nothing matches the named transcript, the step fails retryably rather than show the model something else', async () => {
  const r = createTranscriptResolver(source(() => [m(0), m(1), { role: 'user', content: 'changed' }, m(3), m(4)]));
  const err = await r.resolve(request(5, 3)).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({ type: 'Transcript.Mismatch', nonRetryable: false });
});

test('the cache keeps the most recently used conversations within its size', async () => {
  const src = source(() => transcript(5));
  const r = createTranscriptResolver(src, { maxChars: 250 });
  const other = (id: string): ModelStepRequest => ({
    ...request(3),
    transcript: { ...request(3).transcript, workflowId: id },
  });
  await r.resolve(other('a'));
  await r.resolve(other('b')); // ~115 characters each: both fit
  await r.resolve(other('c')); // a is evicted
  const next = (id: string): ModelStepRequest => ({
    ...request(5, 3),
    transcript: { ...request(5, 3).transcript, workflowId: id },
  });
  src.calls = 0;
  await r.resolve(next('c'));
  expect(src.calls).toBe(0);
  await r.resolve(next('a'));
  expect(src.calls).toBe(1);
});
