/**
 * What every command shares: the session (the connection and the conversation it touched, so
 * errors can be explained and the connection closed), connecting, printing text or `--json`,
 * and the argument parsers.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { Client } from '@temporalio/client';
import { connectClient, temporalSettings, type TemporalSettings } from '../../config/connection';
import type { ConversationSnapshot } from '../../workflows/messages';
import { checkCustomerId, type ConversationHandle } from '../conversations';
import { CliError, EXIT, oneLine, type ErrorContext } from './errors';

export interface GlobalOptions {
  json?: boolean;
}

/** What the running command has touched, so errors can be explained and the connection closed. */
export const session: ErrorContext & { settings?: TemporalSettings } = { address: '?' };

export async function connect(): Promise<Client> {
  let settings: TemporalSettings;
  try {
    settings = temporalSettings();
  } catch (err) {
    throw new CliError(`bad Temporal connection settings: ${oneLine((err as Error).message)}`, EXIT.usage);
  }
  session.settings = settings;
  session.address = settings.address;
  try {
    session.client = await connectClient(settings);
  } catch (err) {
    throw new CliError(oneLine((err as Error).message), EXIT.unreachable);
  }
  // A cheap round trip now, so an unreachable server is reported as such and not as a failed command.
  await session.client.workflowService.getSystemInfo({});
  return session.client;
}

export async function conversationHandle(id: string): Promise<ConversationHandle> {
  session.conversationId = id;
  const client = await connect();
  return client.workflow.getHandle(id) as ConversationHandle;
}

export function print(cmd: Command, text: string, data: unknown): void {
  const { json } = cmd.optsWithGlobals<GlobalOptions>();
  process.stdout.write(`${json ? JSON.stringify(data, null, 2) : text}\n`);
}

export function customerArg(value: string): string {
  try {
    return checkCustomerId(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function conversationIdArg(value: string): string {
  if (!/^[^\s\u0000-\u001f]{1,255}$/.test(value))
    throw new InvalidArgumentError('a conversation id is 1-255 characters, without spaces');
  return value;
}

export function positiveIntArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new InvalidArgumentError('use a whole number from 1 to 1000');
  return n;
}

export function header(id: string, state: Pick<ConversationSnapshot, 'customerId'>): string {
  return `conversation ${id} (customer ${state.customerId})`;
}
