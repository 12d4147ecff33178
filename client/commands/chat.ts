/**
 * `chat`: an interactive conversation at the terminal. Each line is a customer message; each reply
 * is printed with its run log (handoffs, tool calls) and the agent that gave it. Slash commands
 * steer the conversation. Reads piped lines just as well as a terminal, so it can be scripted.
 */
import { createInterface } from 'node:readline/promises';
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { uiLink } from '../../config/connection';
import { endSignal, rollbackSignal, stateQuery } from '../../workflows/messages';
import { sendMessage, startConversation, withEnvPolicy, type ConversationHandle } from '../conversations';
import { formatState, formatTurn } from '../run-log';
import {
  connect,
  conversationHandle,
  conversationIdArg,
  customerArg,
  header,
  session,
  type GlobalOptions,
} from './context';
import { EXIT, closed, explain, type ErrorContext } from './errors';

export const CHAT_HELP = [
  'type a message and press Enter to send it to the desk, or:',
  '  /state             who has the conversation, the path so far, handoffs and rollbacks',
  '  /rollback [reason] return control to the receptionist',
  '  /end               close the conversation for good',
  '  /quit              leave; the conversation stays open (attach again with `chat --id <id>`)',
  '  /help              this list',
].join('\n');

export interface ChatOptions {
  client: Client;
  handle: ConversationHandle;
  json: boolean;
  errorContext: ErrorContext;
  input?: NodeJS.ReadableStream & { isTTY?: boolean };
  output?: NodeJS.WritableStream;
  errors?: NodeJS.WritableStream;
}

/** Runs until /quit, /end or the end of input. Fatal problems (closed, gone, unreachable) are thrown as CliErrors. */
export async function runChat(opts: ChatOptions): Promise<void> {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stdout;
  const errors = opts.errors ?? process.stderr;
  const { handle, json } = opts;
  const id = handle.workflowId;
  const interactive = Boolean(input.isTTY);
  const say = (text: string, data: Record<string, unknown>) => output.write(`${json ? JSON.stringify(data) : text}\n`);

  const rl = createInterface({ input, output, terminal: interactive });
  rl.setPrompt(json ? '' : 'you> ');
  let busy = false;
  rl.on('SIGINT', () => {
    if (!busy) return rl.close();
    errors.write(`\ninterrupted; the conversation stays open: chat --id ${id}\n`);
    process.exit(130);
  });

  /** Recoverable problems (a rejected message) are printed and the chat goes on; the rest end it. */
  const attempt = async (fn: () => Promise<void>): Promise<void> => {
    busy = true;
    try {
      await fn();
    } catch (err) {
      const e = await explain(err, opts.errorContext);
      if (e.exitCode !== EXIT.usage) throw e;
      errors.write(`error: ${e.message}\n`);
    } finally {
      busy = false;
    }
  };

  try {
    if (!json) rl.prompt();
    for await (const raw of rl) {
      const line = raw.trim();
      // Piped input is not echoed by a terminal: echo it so the transcript reads like a session.
      if (!interactive && !json) output.write(`${raw}\n`);
      if (line === '') {
        if (!json) rl.prompt();
        continue;
      }
      if (line.startsWith('/')) {
        const [command = '', ...rest] = line.slice(1).split(/\s+/);
        const arg = rest.join(' ').trim();
        if (command === 'quit' || command === 'exit') {
          say(`left conversation ${id}; it stays open: npm run client -- chat --id ${id}`, { event: 'left', id });
          return;
        }
        if (command === 'end') {
          await attempt(async () => {
            await handle.signal(endSignal);
            say(`conversation ${id} ended`, { event: 'ended', id });
          });
          return;
        } else if (command === 'state') {
          await attempt(async () => {
            const state = await handle.query(stateQuery);
            say(formatState(state), { event: 'state', id, ...state });
          });
        } else if (command === 'rollback') {
          const reason = arg || 'customer asked for the receptionist';
          await attempt(async () => {
            await handle.signal(rollbackSignal, { reason });
            say(`rollback requested (${reason}): the receptionist takes over at the next step boundary`, {
              event: 'rollback',
              id,
              reason,
            });
          });
        } else if (command === 'help') {
          say(CHAT_HELP, { event: 'help', text: CHAT_HELP });
        } else {
          errors.write(`error: unknown command /${command}; /help lists the commands\n`);
        }
      } else {
        await attempt(async () => {
          const reply = await sendMessage(handle, line);
          say(formatTurn(reply), { event: 'reply', id, ...reply });
        });
      }
      if (!json) rl.prompt();
    }
    // End of input (Ctrl-D, or the end of a pipe): like /quit.
    if (!json) output.write('\n');
    say(`left conversation ${id}; it stays open: npm run client -- chat --id ${id}`, { event: 'left', id });
  } finally {
    rl.close();
  }
}

export function registerChatCommand(program: Command): void {
  program
    .command('chat')
    .description(
      'talk to the desk interactively (also reads piped lines); a new conversation, or an existing one with --id',
    )
    .option('-c, --customer <id>', 'customer for a new conversation', customerArg, 'alice')
    .option('--id <conversation id>', 'attach to this existing conversation instead of starting one', conversationIdArg)
    .addHelpText('after', `\nIn the chat:\n${CHAT_HELP}`)
    .action(async (opts: { customer: string; id?: string }, cmd: Command) => {
      const { json } = cmd.optsWithGlobals<GlobalOptions>();
      let handle: ConversationHandle;
      if (opts.id) {
        handle = await conversationHandle(opts.id);
        const state = await handle.query(stateQuery);
        if (state.status !== 'open') throw closed(opts.id);
        const text = `attached to ${header(opts.id, state)}: ${state.currentAgent} has it, ${state.turn} turn(s) so far\nui: ${uiLink(opts.id, session.settings)}`;
        process.stdout.write(
          `${json ? JSON.stringify({ event: 'attached', id: opts.id, ...state }) : `${text}\n/help lists the commands`}\n`,
        );
      } else {
        const client = await connect();
        handle = await startConversation(client, withEnvPolicy({ customerId: opts.customer }));
        session.conversationId = handle.workflowId;
        const link = uiLink(handle.workflowId, session.settings);
        const text = `conversation ${handle.workflowId} started for ${opts.customer}\nui: ${link}\n/help lists the commands`;
        process.stdout.write(
          `${json ? JSON.stringify({ event: 'started', id: handle.workflowId, customerId: opts.customer, uiLink: link }) : text}\n`,
        );
      }
      await runChat({ client: session.client!, handle, json: Boolean(json), errorContext: session });
    });
}
