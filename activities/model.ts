/**
 * One model step through the `openai` package: the `callModel` activity.
 *
 * It turns the desk's transcript into a Chat Completions request for the current agent (its
 * instructions, its function tools, one `transfer_to_<agent>` tool per allowed handoff), and turns
 * the answer back into the small `ModelStepResult` union the workflow acts on. It decides nothing:
 * whether a tool or a handoff is allowed is the workflow's call.
 *
 * The answer is streamed (`stream: true`, through the `openai` package's own ChatCompletionStream)
 * unless streaming is turned off (DESK_MODEL_STREAM=off): each text delta goes to the reply stream
 * (activities/reply-stream.ts) for the console, never into history, and the assembled
 * ChatCompletion goes through the same `normaliseCompletion` as a non-streamed one, so the step's
 * result does not depend on how the answer travelled.
 *
 * Failures are mapped to typed `ApplicationFailure`s (`ModelCall.*`): transient ones retryable,
 * configuration and request errors not; a stream that breaks half-way is retryable. Temporal is the
 * only retry owner, so the client is built with `maxRetries: 0`. Content-filter refusals are
 * results, not failures: retrying them repeats the refusal.
 */
import { ApplicationFailure } from '@temporalio/common';
import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  OpenAIError,
} from 'openai';
import type { ChatCompletionStreamParams } from 'openai/lib/ChatCompletionStream';
import type {
  ChatCompletion,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionFunctionTool,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import { z } from 'zod';
import { AGENTS, handoffToolName, type AgentName, type ToolName } from '../agents';
import { BOUNDS, cut } from '../contract/limits';
import type { ChatMessage, ModelStepInput, ModelStepResult, ModelToolCall } from '../contract/transcript';
import { stepCost, type PriceTable, type StepUsage } from '../contract/usage';
import type { ModelConfig } from './model-config';
import { withHeartbeat } from './heartbeat';
import { currentReplyStep, type ReplyStepWriter, type ReplyStreamWriter } from './reply-stream';
import { TOOLS, toolCallSummary, toolJsonSchema } from './tools';

/** What the model step needs from the tool registry (`activities/tools`): descriptions and JSON schemas. */
export interface ToolCatalog {
  TOOLS: Readonly<Record<ToolName, { readonly name: string; readonly description: string }>>;
  toolJsonSchema(name: ToolName): Record<string, unknown>;
}

export interface ModelStepDeps {
  openai: OpenAI;
  model: string;
  /** Defaults to the real registry; tests pass a fake. */
  tools?: ToolCatalog;
  /** Ask for a streamed answer (the default); false for endpoints that cannot stream. */
  stream?: boolean;
  /** Where a streamed step's text goes while it arrives (the reply stream); nowhere when absent. */
  replies?: ReplyStreamWriter;
  /** Prices per model (activities/prices.ts); without one every step's cost is unknown. */
  prices?: PriceTable;
}

/** What the desk says when the provider refuses on content grounds. */
export const REFUSAL_REPLY =
  "I'm sorry, I can't help with that request. If you have a question about an order, a payment or a technical problem, I'm glad to help.";

/**
 * What the desk says when the model answers with neither text nor tool calls. Chosen over a retry:
 * the same input usually gets the same empty answer, and a reply keeps the conversation going.
 */
export const EMPTY_REPLY = "I'm sorry, I have no answer right now. Could you rephrase your question?";

/** Appended to every agent's instructions: after a handoff the new agent sees everything. */
export const SHARED_CONTEXT_NOTE =
  'You see the whole conversation so far, including the turns, tool calls and tool results of the other agents of this desk; continue from where they left off and do not ask for what is already known.';

const transferParameters = z.object({
  reason: z
    .string()
    .min(1)
    .describe('Why the conversation is handed over, in one short sentence the next agent can act on.'),
});
/** Derived once from zod, never written by hand; `$schema` dropped because some compatible servers reject it. */
const TRANSFER_JSON_SCHEMA = withoutSchemaKey(z.toJSONSchema(transferParameters, { io: 'input' }));

function withoutSchemaKey(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = schema;
  return rest;
}

/**
 * The OpenAI client the activities use. `maxRetries: 0`: Temporal's retry policy is the only one,
 * so a 429 is not retried twice over. A keyless local server (Ollama, the offline model) still
 * needs some key for the client to start; it is never checked there.
 */
export function createOpenAIClient(cfg: Pick<ModelConfig, 'apiKey' | 'baseURL' | 'timeoutMs'>): OpenAI {
  return new OpenAI({
    apiKey: cfg.apiKey ?? 'no-key',
    ...(cfg.baseURL !== undefined && { baseURL: cfg.baseURL }),
    maxRetries: 0,
    timeout: cfg.timeoutMs,
  });
}

/** The function tools and handoff tools one agent is offered. */
export function agentTools(agent: AgentName, catalog: ToolCatalog): ChatCompletionFunctionTool[] {
  const spec = AGENTS[agent];
  const functionTools = spec.tools.map((name): ChatCompletionFunctionTool => ({
    type: 'function',
    function: { name, description: catalog.TOOLS[name].description, parameters: catalog.toolJsonSchema(name) },
  }));
  const handoffTools = spec.handoffs.map((target): ChatCompletionFunctionTool => ({
    type: 'function',
    function: {
      name: handoffToolName(target),
      description: `Hand the conversation over to the ${target} agent. ${AGENTS[target].description}`,
      parameters: TRANSFER_JSON_SCHEMA,
    },
  }));
  return [...functionTools, ...handoffTools];
}

/** The transcript as Chat Completions messages, after the agent's system message. */
export function toOpenAIMessages(agent: AgentName, transcript: readonly ChatMessage[]): ChatCompletionMessageParam[] {
  const system: ChatCompletionMessageParam = {
    role: 'system',
    content: `${AGENTS[agent].instructions}\n\n${SHARED_CONTEXT_NOTE}`,
  };
  return [system, ...transcript.map(toOpenAIMessage)];
}

function toOpenAIMessage(message: ChatMessage): ChatCompletionMessageParam {
  switch (message.role) {
    case 'user':
      return { role: 'user', content: message.content };
    case 'assistant':
      // An empty `tool_calls` array is rejected by OpenAI: send the field only when there are calls.
      if (message.toolCalls && message.toolCalls.length > 0) {
        return {
          role: 'assistant',
          content: message.content,
          tool_calls: message.toolCalls.map((call) => ({
            id: call.id,
            type: 'function',
            function: { name: call.name, arguments: call.arguments },
          })),
        };
      }
      return { role: 'assistant', content: message.content ?? '' };
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
    case 'event':
      return { role: 'system', content: message.content };
  }
}

/** Builds the `callModel` activity around an injected client. */
export function createModelStep(deps: ModelStepDeps): { callModel(input: ModelStepInput): Promise<ModelStepResult> } {
  const catalog: ToolCatalog = deps.tools ?? { TOOLS, toolJsonSchema };
  const toolsByAgent = new Map<AgentName, ChatCompletionFunctionTool[]>();
  const toolsFor = (agent: AgentName): ChatCompletionFunctionTool[] => {
    let tools = toolsByAgent.get(agent);
    if (!tools) {
      tools = agentTools(agent, catalog);
      toolsByAgent.set(agent, tools);
    }
    return tools;
  };
  const context: ErrorContext = { model: deps.model, baseURL: deps.openai.baseURL, apiKey: deps.openai.apiKey };
  const stream = deps.stream ?? true;

  return {
    // Heartbeats while the endpoint thinks: a worker that dies mid-step is noticed within the
    // heartbeat timeout (workflows/options.ts), not the step's whole start-to-close timeout.
    // `stop` (a rollback seen in the interrupts table, activities/interrupts.ts) stops it like a cancellation.
    callModel: (input: ModelStepInput, stop?: AbortSignal) =>
      withHeartbeat((cancelled) => modelStep(input, anyOf(cancelled, stop))),
  };

  function anyOf(a: AbortSignal | undefined, b: AbortSignal | undefined): AbortSignal | undefined {
    return a && b ? AbortSignal.any([a, b]) : (a ?? b);
  }

  async function modelStep(input: ModelStepInput, cancelled: AbortSignal | undefined): Promise<ModelStepResult> {
    const tools = toolsFor(input.agent);
    // Only model, messages, tools and tool_choice (and the two stream fields when streaming): some
    // compatible servers reject anything else (parallel_tool_calls, store, metadata ...).
    const request: ChatCompletionCreateParamsNonStreaming = {
      model: deps.model,
      messages: toOpenAIMessages(input.agent, input.messages),
      ...(tools.length > 0 && { tools, tool_choice: 'auto' as const }),
    };
    // The step owns its deadline: how fetch reports its own timeout differs between runtimes
    // (and across realms, as under jest), an aborted signal we hold does not. The client's
    // timeout stays as a backstop a second later.
    // A cancelled step (a rollback arrived) stops its request too.
    const timeoutMs = deps.openai.timeout;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = cancelled ? AbortSignal.any([deadline, cancelled]) : deadline;
    const key = stream && deps.replies ? currentReplyStep() : undefined;
    const writer = key ? deps.replies?.begin(key) : undefined;
    let result: ModelStepResult | undefined;
    try {
      let completion: ChatCompletion;
      try {
        const options = { signal, timeout: timeoutMs + 1_000 };
        completion = stream
          ? await streamed(request, options, writer)
          : await deps.openai.chat.completions.create(request, options);
      } catch (err) {
        if (cancelled?.aborted) throw cancelled.reason;
        if (deadline.aborted) {
          throw failure(
            'ModelCall.Timeout',
            `The model call to ${context.baseURL} timed out after ${timeoutMs} ms`,
            true,
          );
        }
        const classified = classifyModelError(err, context);
        if (classified instanceof ApplicationFailure) throw classified;
        return (result = classified);
      }
      return (result = normaliseCompletion(completion, { model: deps.model, prices: deps.prices ?? {} }));
    } finally {
      // The final row carries exactly the text the workflow records ('' when nothing is recorded
      // from this attempt), so a reader ends with the recorded text whatever the deltas said.
      await writer?.finish(result ? visibleText(result) : '');
    }
  }

  /** One streamed answer, assembled by the `openai` package into the ChatCompletion a non-streamed call returns. */
  async function streamed(
    request: ChatCompletionCreateParamsNonStreaming,
    options: { signal: AbortSignal; timeout: number },
    writer?: ReplyStepWriter,
  ): Promise<ChatCompletion> {
    // include_usage: the last chunk carries the token counts a non-streamed answer has in `usage`.
    const params: ChatCompletionStreamParams = { ...request, stream: true, stream_options: { include_usage: true } };
    const runner = deps.openai.chat.completions.stream(params, options);
    if (writer) {
      runner.on('chunk', (chunk) => {
        for (const choice of chunk.choices) {
          if (choice.index === 0 && choice.delta?.content) writer.push(choice.delta.content);
        }
      });
    }
    return runner.finalChatCompletion();
  }
}

/** The text a reader of the reply stream must end with: what the workflow records from this result. */
export function visibleText(result: ModelStepResult): string {
  return result.text ?? '';
}

/** Calls kept from one response: more than the workflow acts on, so it can count the dropped ones. */
const MAX_CALLS_KEPT = 64;

/** How a step is priced: the configured model and the price table. */
export interface Pricing {
  model: string;
  prices: PriceTable;
}

/**
 * The provider's answer as the desk's small result union, with the step's tokens (and, given
 * `pricing`, its cost) when the answer carries `usage`.
 */
export function normaliseCompletion(completion: ChatCompletion, pricing?: Pricing): ModelStepResult {
  const result = resultOf(completion);
  const usage = completionUsage(completion, pricing);
  return usage ? { ...result, usage } : result;
}

/** Largest token count believed from one response: a broken server's nonsense is not summed. */
const MAX_STEP_TOKENS = 100_000_000;

/**
 * The step's usage from `completion.usage`: prompt tokens (cached included), completion tokens,
 * cached prompt tokens. Undefined when the endpoint sent none (some compatible servers do not).
 * The offline model marks its counts `estimated` (a field of its own in `usage`).
 */
export function completionUsage(completion: ChatCompletion, pricing?: Pricing): StepUsage | undefined {
  const usage = completion.usage;
  if (!usage || typeof usage !== 'object') return undefined;
  const tokens = (x: unknown): number =>
    typeof x === 'number' && Number.isFinite(x) && x > 0 ? Math.min(Math.floor(x), MAX_STEP_TOKENS) : 0;
  const counts = {
    inputTokens: tokens(usage.prompt_tokens),
    outputTokens: tokens(usage.completion_tokens),
    cachedInputTokens: tokens(usage.prompt_tokens_details?.cached_tokens),
  };
  const model = pricing?.model ?? (typeof completion.model === 'string' ? completion.model : 'unknown');
  const cost = pricing ? stepCost(pricing.prices, [pricing.model, completion.model], counts) : undefined;
  const estimated = (usage as { estimated?: unknown }).estimated === true;
  return {
    model: model.slice(0, 128),
    ...counts,
    ...(estimated && { estimated: true as const }),
    ...(cost !== undefined && { costUsd: cost }),
  };
}

function resultOf(completion: ChatCompletion): ModelStepResult {
  const choice = completion.choices?.[0];
  if (!choice) {
    throw ApplicationFailure.create({
      message: 'The model server answered without any choice',
      type: 'ModelCall.EmptyResponse',
      nonRetryable: false,
    });
  }
  if (choice.finish_reason === 'content_filter') return { kind: 'refusal', text: REFUSAL_REPLY };
  const message = choice.message;
  if (message.refusal) return { kind: 'refusal', text: cut(message.refusal, BOUNDS.maxModelTextChars).text };

  // Only function calls: the desk offers no custom tools. Arguments stay raw text; the tool runner
  // (activities/tools/runner.ts) turns unparsable arguments into a tool error the model can fix.
  // The result travels through history (2 MB at most), so a runaway answer is cut here; the
  // workflow applies the exact bounds (contract/limits.ts). Arguments over the limit keep one
  // character more than it, enough for the workflow to refuse them as too long.
  const calls: ModelToolCall[] = (message.tool_calls ?? []).slice(0, MAX_CALLS_KEPT).flatMap((call) => {
    if (call.type !== 'function') return [];
    const { name, arguments: args } = call.function;
    const summary = toolCallSummary(name, args);
    return [
      {
        id: call.id.slice(0, 64),
        name: name.slice(0, BOUNDS.maxToolNameChars + 1),
        arguments: args.slice(0, BOUNDS.maxToolArgumentChars + 1),
        ...(summary !== undefined && { summary: summary.slice(0, 120) }),
      },
    ];
  });
  const content = message.content ? cut(message.content, BOUNDS.maxModelTextChars).text : message.content;
  const text = content && content.trim() !== '' ? content : null;
  if (calls.length > 0) return { kind: 'tool_calls', text, calls };
  return { kind: 'reply', text: text ?? EMPTY_REPLY };
}

/** What error messages may name: the model and endpoint, never the key (only used to scrub it). */
export interface ErrorContext {
  model?: string;
  baseURL?: string;
  apiKey?: string;
}

/** Longest wait a server's `retry-after` may impose on one retry. */
const MAX_RETRY_DELAY_MS = 10 * 60_000;

/**
 * Maps a failed model call to a typed Temporal failure, or to a refusal result when the provider
 * refused on content grounds (Azure answers those with a 400 `content_filter`).
 */
export function classifyModelError(err: unknown, context: ErrorContext = {}): ApplicationFailure | ModelStepResult {
  if (err instanceof ApplicationFailure) return err;
  const model = context.model ?? 'the configured model';
  const endpoint = context.baseURL ?? 'the model server';
  const upstream = err instanceof Error ? scrub(err.message, context.apiKey) : scrub(String(err), context.apiKey);

  // Connection errors are APIErrors without a status: check them first (timeout is a subclass).
  if (err instanceof APIConnectionTimeoutError) {
    return failure('ModelCall.Timeout', `The model call to ${endpoint} timed out`, true);
  }
  if (err instanceof APIUserAbortError) {
    return failure('ModelCall.Aborted', 'The model call was aborted', true);
  }
  if (err instanceof APIConnectionError) {
    return failure('ModelCall.Unreachable', `Could not reach the model server at ${endpoint}: ${upstream}`, true);
  }
  if (err instanceof OpenAIError && !(err instanceof APIError && err.status !== undefined)) {
    // From inside a stream that had started (an error event, a cut connection, a stream that ended
    // without finishing its answer): the next attempt asks again.
    return failure(
      'ModelCall.StreamFailed',
      `The model server's stream broke off: ${upstream} (an endpoint that cannot stream needs DESK_MODEL_STREAM=off)`,
      true,
    );
  }
  if (!(err instanceof APIError) || err.status === undefined) {
    // Not from the provider (a malformed body, a network oddity): retried, within the model
    // step's bounded attempts, rather than guessed to be a bug.
    return failure('ModelCall.Unexpected', `The model call failed: ${upstream}`, true);
  }

  const status = err.status;
  const details = { status, code: err.code ?? null, type: err.type ?? null, requestId: err.requestID ?? null };
  const said = `(${status}${err.code ? ` ${err.code}` : ''}): ${upstream}`;

  if (status === 400 && isContentFilter(err)) return { kind: 'refusal', text: REFUSAL_REPLY };
  switch (status) {
    case 400:
      return failure('ModelCall.BadRequest', `The model server rejected the request ${said}`, false, details);
    case 401:
      // The provider's message may echo part of the key: not passed on.
      return failure(
        'ModelCall.Unauthorized',
        `The model server at ${endpoint} rejected the API key (401): check OPENAI_API_KEY`,
        false,
        details,
      );
    case 403:
      return failure('ModelCall.Forbidden', `The API key may not use model "${model}" ${said}`, false, details);
    case 404:
      return failure(
        'ModelCall.NotFound',
        `Model "${model}" not found at ${endpoint} (404): unknown model or wrong OPENAI_BASE_URL`,
        false,
        details,
      );
    case 408:
      return failure('ModelCall.Timeout', `The model server timed out ${said}`, true, details);
    case 409:
      return failure('ModelCall.Conflict', `The model server reported a conflict ${said}`, true, details);
    case 422:
      return failure(
        'ModelCall.Unprocessable',
        `The model server could not process the request ${said}`,
        false,
        details,
      );
    case 429:
      // Out of credit is not transient: retrying cannot fix it.
      if (err.code === 'insufficient_quota') {
        return failure('ModelCall.QuotaExceeded', `The model provider's quota is used up ${said}`, false, details);
      }
      return failure(
        'ModelCall.RateLimited',
        `The model server is rate limiting ${said}`,
        true,
        details,
        retryAfterMs(err.headers),
      );
  }
  if (status >= 500) return failure('ModelCall.ServerError', `The model server failed ${said}`, true, details);
  return failure('ModelCall.Rejected', `The model server rejected the request ${said}`, false, details);
}

function failure(
  type: string,
  message: string,
  retryable: boolean,
  details?: Record<string, unknown>,
  nextRetryDelay?: number,
): ApplicationFailure {
  // No `cause`: the provider's error carries its raw message and headers into history.
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: !retryable,
    ...(details && { details: [details] }),
    ...(nextRetryDelay !== undefined && { nextRetryDelay }),
  });
}

function isContentFilter(err: APIError): boolean {
  if (err.code === 'content_filter') return true;
  // Azure also nests it: { error: { code: 'content_filter' | 'ResponsibleAIPolicyViolation', innererror: { code } } }.
  const body = err.error as { code?: unknown; innererror?: { code?: unknown } } | undefined;
  const inner = body?.innererror?.code;
  return body?.code === 'content_filter' || inner === 'ResponsibleAIPolicyViolation' || inner === 'content_filter';
}

/** `retry-after-ms` (milliseconds), else `retry-after` (seconds or an HTTP date); undefined when absent or nonsense. */
export function retryAfterMs(headers: Headers | undefined, now: number = Date.now()): number | undefined {
  const valid = (ms: number): number | undefined =>
    Number.isFinite(ms) && ms > 0 ? Math.min(Math.ceil(ms), MAX_RETRY_DELAY_MS) : undefined;
  const ms = headers?.get('retry-after-ms');
  if (ms) {
    const parsed = valid(Number(ms));
    if (parsed !== undefined) return parsed;
  }
  const after = headers?.get('retry-after')?.trim();
  if (!after) return undefined;
  if (/^\d+(\.\d+)?$/.test(after)) return valid(Number(after) * 1000);
  return valid(Date.parse(after) - now);
}

/** Removes the API key, and anything shaped like an OpenAI key, from text bound for history and logs. */
function scrub(text: string, apiKey: string | undefined): string {
  let out = apiKey && apiKey.length >= 4 ? text.split(apiKey).join('[redacted]') : text;
  out = out.replace(/sk-[A-Za-z0-9_*-]{4,}/g, 'sk-[redacted]');
  return out;
}
