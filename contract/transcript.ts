/**
 * The contract between the workflow and its activities: the transcript every agent sees, what
 * one model step returns, and what one tool call takes and gives back. Plain serialisable data
 * only: these objects travel through Temporal history.
 */
import type { AgentName } from '../agents';
import type { StepUsage } from './usage';

/** A tool call as the model asked for it. `arguments` is the raw JSON text the model wrote. */
export interface ToolCallRequest {
  /** Unique within the conversation: the workflow rewrites the model's id (some servers reuse `call_0`). */
  id: string;
  name: string;
  arguments: string;
}

/**
 * One entry of the conversation's transcript. The whole transcript is the input of every model
 * step, so the agent that takes over after a handoff sees everything that happened before.
 */
export type ChatMessage =
  | { role: 'user'; content: string }
  | { role: 'assistant'; agent: AgentName; content: string | null; toolCalls?: ToolCallRequest[] }
  | { role: 'tool'; toolCallId: string; name: string; content: string }
  /** A desk event the models should know about (a rollback); sent to the model as system text. */
  | { role: 'event'; content: string };

/** What one model step works on: the agent, and the whole transcript it sees. */
export interface ModelStepInput {
  agent: AgentName;
  messages: ChatMessage[];
}

/**
 * Input of the `callModelLocal` local activity (the `local` execution mode): the transcript as
 * `callModel` gets it (only what is new, from the worker's cache; the whole transcript when the
 * worker has not got it), and where to watch for a rollback meanwhile: interrupts of
 * `conversationId` written after `since` (the workflow's time when it asked, ISO-8601).
 */
export interface LocalModelStepRequest extends ModelStepRequest {
  interrupt?: { conversationId: string; since: string };
}

/** The failure type a local model step answers when its worker has not got the transcript: the workflow sends it whole. */
export const TRANSCRIPT_NOT_CACHED = 'Transcript.NotCached';

/** What `callModelLocal` returns: the step's result, or `yielded` when a rollback interrupt stopped it. */
export type LocalModelStepResult = ModelStepResult | { kind: 'yielded' };

/**
 * Input of the `callModel` activity: the transcript by reference plus what is new since this
 * run's previous model step, so a step's input (and so history) grows with the turn, not with the
 * conversation. The activity assembles the transcript from its cache and the new messages, or
 * asks the workflow for it (the `history` query) when its cache cannot (another worker, a restart),
 * and checks the result against `length` and `digest` (contract/digest.ts) before the model sees it.
 */
export interface ModelStepRequest {
  agent: AgentName;
  transcript: { workflowId: string; runId: string; length: number; digest: string };
  /**
   * The messages from index `from` on; `baseDigest` is the digest of those before it. `from` 0
   * carries the whole transcript: a run's first step, or one after the transcript was compacted.
   */
  delta: { from: number; baseDigest: string; messages: ChatMessage[] };
}

/** A tool call as the model step returns it: with the UI's one-line summary, which the model never sees. */
export interface ModelToolCall extends ToolCallRequest {
  /** From the tool's declaration (`order 12345 $99.99`); absent for handoffs, unknown tools and bad arguments. */
  summary?: string;
}

/**
 * What one model step returns: a reply that ends the turn, or tool calls to act on, with the
 * tokens the step used when the endpoint said (absent in histories from releases before it).
 */
export type ModelStepResult = (
  | { kind: 'reply'; text: string }
  | { kind: 'tool_calls'; text: string | null; calls: ModelToolCall[] }
  /** The provider refused on content grounds; the desk answers with a canned reply. */
  | { kind: 'refusal'; text: string }
) & { usage?: StepUsage };

/** Input of the `runTool` activity. The customer and the key come from the workflow, never the model. */
export interface ToolRunInput {
  agent: AgentName;
  tool: string;
  /** The model's raw JSON arguments; the activity parses and validates them. */
  arguments: string;
  customerId: string;
  /**
   * Built by the workflow: `<workflowId>:<turn>:<step>:<call index>`, stable across retries and
   * replays; for an approved refund `<workflowId>:approval:<approval id>`.
   */
  idempotencyKey: string;
  /** Set only for a refund a person approved: the approval allows a refund above the limit. */
  approval?: { id: string; by: string };
}

/** Why a tool refused: each is an answer for the model to explain, not a failure. */
export type ToolRefusalCode =
  | 'invalid_arguments'
  | 'unknown_tool'
  | 'not_allowed'
  | 'not_found'
  | 'invalid_state'
  | 'over_limit'
  /** A refund above the approval limit without an approval: not made. */
  | 'approval_required';

/** What one tool call gives back; it is sent to the model as the tool message's JSON content. */
export type ToolRunResult =
  | { ok: true; data: Record<string, unknown>; replayed?: boolean }
  | { ok: false; code: ToolRefusalCode; message: string };
