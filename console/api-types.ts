/**
 * What the console's HTTP API and its live stream carry, shared by the server and the browser code
 * (type-only imports, so the browser bundle pulls in nothing from the server side).
 */
import type { ChatMessage } from '../contract/transcript';
import type { AgentReply, ApprovalOutcome, ConversationSnapshot } from '../workflows/messages';
import type { ConversationRow } from '../client/commands/list';

export type { AgentReply, ApprovalOutcome, ChatMessage, ConversationRow, ConversationSnapshot };

/** The header that carries DESK_CONSOLE_TOKEN on every mutating request. */
export const TOKEN_HEADER = 'x-desk-token';

/** One conversation as the page shows it: its execution, its state and its transcript, read together. */
export interface ConversationView {
  id: string;
  runId: string;
  /** Temporal's execution status, lower case: running, completed, terminated, ... */
  execution: string;
  state: ConversationSnapshot;
  transcript: ChatMessage[];
}

/** The text of a model step still running (streamed), folded over retries: it replaces, never appends. */
export interface PartialReply {
  step: string;
  text: string;
  final: boolean;
}

/** What the live stream (`GET /api/conversations/:id/live`, SSE) sends; the event name is `type`. */
export type LiveEvent =
  | { type: 'snapshot'; view: ConversationView }
  | { type: 'partial'; partial: PartialReply }
  | { type: 'problem'; message: string };

/** Every error the API returns. */
export interface ApiError {
  error: string;
}

export interface ConsoleMeta {
  agents: string[];
  /** Customers of the shop's seed, offered when starting a conversation (any valid id may be typed). */
  customers: string[];
  namespace: string;
  temporalAddress: string;
  /** Whether the page needs a token before it can change anything (always true; here so the page can say so). */
  tokenRequired: boolean;
  maxMessageChars: number;
  maxReasonChars: number;
}
