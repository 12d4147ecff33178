/**
 * A transcript's digest: a 64-bit hash (two 32-bit FNV-1a lanes) chained over each message's JSON,
 * so a transcript's digest can be extended message by message. The workflow names the transcript
 * a model step must see by its length and digest; the model step checks that what it assembled
 * (from its cache plus the new messages, or from the workflow itself) is exactly that. Not a
 * security boundary: both sides are the desk's own code; it catches a stale or mismatched cache.
 * Pure and deterministic: the workflow sandbox runs it.
 */
import type { ChatMessage } from './transcript';

export const EMPTY_DIGEST = '811c9dc5050c5d1f';

/** The digest of `digest`'s transcript followed by `messages`. */
export function extendDigest(digest: string, messages: readonly ChatMessage[]): string {
  let a = parseInt(digest.slice(0, 8), 16) >>> 0;
  let b = parseInt(digest.slice(8, 16), 16) >>> 0;
  for (const message of messages) {
    const text = `${JSON.stringify(message)}\n`;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193) >>> 0;
      b = Math.imul(b ^ (c + 0x9e37), 0x01000193) >>> 0;
    }
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}

export function digestOf(messages: readonly ChatMessage[]): string {
  return extendDigest(EMPTY_DIGEST, messages);
}
