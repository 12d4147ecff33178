/**
 * Every failure a client command can meet, turned into one line for a person and an exit code
 * for a script: 1 usage or validation, 2 no such conversation or a closed one, 3 Temporal out of
 * reach. Never a stack trace (set DESK_DEBUG=1 to see one).
 */
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  isGrpcServiceError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { unreachableMessage } from '../../config/connection';
import { InvalidInputError } from '../conversations';
import { FAILURE } from '../../workflows/messages';

export const EXIT = { ok: 0, usage: 1, notFound: 2, unreachable: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI has already explained: its message is the line to print. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const notFound = (id: string) => new CliError(`no conversation with id ${id}`, EXIT.notFound);
export const closed = (id: string) =>
  new CliError(`conversation ${id} is closed; start a new one with \`start --customer <id>\``, EXIT.notFound);

/** gRPC codes that mean "the server is not there" rather than "the server said no". */
const UNREACHABLE_CODES = new Set([
  4, // DEADLINE_EXCEEDED
  14, // UNAVAILABLE
]);

function isUnreachable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (isGrpcServiceError(e) && UNREACHABLE_CODES.has(e.code)) return true;
    if (/ECONNREFUSED|ECONNRESET|EHOSTUNREACH|failed to connect before the deadline/i.test((e as Error).message ?? ''))
      return true;
  }
  return false;
}

/** The rejection reason of an update: the validator's or the handler's ApplicationFailure. */
function updateFailure(err: WorkflowUpdateFailedError): { type?: string; message: string } {
  const cause = err.cause;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? undefined, message: cause.message };
  return { message: cause?.message ?? err.message };
}

export interface ErrorContext {
  client?: Client;
  address: string;
  /** The conversation the command addressed, if any. */
  conversationId?: string;
}

/** Turn anything thrown by a command into a CliError (async: telling "gone" from "closed" asks the server). */
export async function explain(err: unknown, ctx: ErrorContext): Promise<CliError> {
  if (err instanceof CliError) return err;
  if (err instanceof InvalidInputError) return new CliError(err.message, EXIT.usage);
  const id = ctx.conversationId ?? (err as { workflowId?: string }).workflowId ?? '?';
  if (err instanceof WorkflowNotFoundError) {
    // The server says "not found" both for an unknown id and for a closed conversation.
    if (/already completed|closing workflow/i.test(err.message)) return closed(id);
    if (ctx.client && ctx.conversationId) {
      try {
        await ctx.client.workflow.getHandle(ctx.conversationId).describe();
        return closed(id);
      } catch {
        // fall through: it really is unknown
      }
    }
    return notFound(id);
  }
  if (err instanceof WorkflowUpdateFailedError) {
    const failure = updateFailure(err);
    // A message to a closed conversation is refused by the validator (InvalidMessage) or, if the
    // conversation closed while the message waited its turn, by the handler (ConversationClosed).
    if (
      failure.type === FAILURE.conversationClosed ||
      (failure.type === FAILURE.invalidMessage && /conversation is closed/i.test(failure.message))
    )
      return closed(id);
    if (failure.type === FAILURE.invalidDecision)
      return new CliError(`decision rejected: ${failure.message}`, EXIT.usage);
    return new CliError(`message rejected: ${failure.message}`, EXIT.usage);
  }
  if (err instanceof WorkflowExecutionAlreadyStartedError) {
    return new CliError(
      `a conversation with id ${id} already exists; attach to it with \`chat --id ${id}\` or pick another id`,
      EXIT.usage,
    );
  }
  if (isUnreachable(err))
    return new CliError(unreachableMessage(ctx.address, oneLine((err as Error).message)), EXIT.unreachable);
  return new CliError(oneLine(err instanceof Error ? err.message : String(err)), EXIT.usage);
}

export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
