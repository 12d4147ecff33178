/**
 * The commands that address one conversation: start, send, rollback, state, history, end.
 */
import type { Command } from 'commander';
import { endSignal, historyQuery, stateQuery } from '../../workflows/messages';
import { openInterrupts, requestRollback } from '../rollback';
import { uiLink } from '../../config/connection';
import { sendMessage, startConversation, startWithMessage, withEnvPolicy } from '../conversations';
import { formatState, formatTurn } from '../run-log';
import { connect, conversationHandle, conversationIdArg, customerArg, header, print, session } from './context';
import { CliError, EXIT } from './errors';
import { formatHistory } from './format';

export function registerConversationCommands(program: Command): void {
  program
    .command('start')
    .description(
      'start a conversation for a customer; with --message, send the first message in the same round trip and print the reply',
    )
    .requiredOption(
      '-c, --customer <id>',
      'customer the conversation acts for (tools only see their orders)',
      customerArg,
    )
    .option('-m, --message <text>', 'first customer message')
    .option(
      '--id <conversation id>',
      'conversation id to use (default conversation-<customer>-<random>)',
      conversationIdArg,
    )
    .action(async (opts: { customer: string; message?: string; id?: string }, cmd: Command) => {
      if (opts.message !== undefined && opts.message.trim() === '')
        throw new CliError('message rejected: the message is empty', EXIT.usage);
      session.conversationId = opts.id;
      const client = await connect();
      const input = withEnvPolicy({ customerId: opts.customer });
      if (opts.message === undefined) {
        const handle = await startConversation(client, input, { workflowId: opts.id });
        const link = uiLink(handle.workflowId, session.settings);
        print(
          cmd,
          [
            `conversation ${handle.workflowId} started for ${opts.customer}`,
            `ui: ${link}`,
            `send the first message: npm run client -- send ${handle.workflowId} "<message>"`,
          ].join('\n'),
          { id: handle.workflowId, customerId: opts.customer, uiLink: link },
        );
        return;
      }
      const { handle, reply } = await startWithMessage(client, input, opts.message, { workflowId: opts.id });
      const link = uiLink(handle.workflowId, session.settings);
      print(
        cmd,
        [`conversation ${handle.workflowId} started for ${opts.customer}`, `ui: ${link}`, formatTurn(reply)].join('\n'),
        {
          id: handle.workflowId,
          customerId: opts.customer,
          uiLink: link,
          reply,
        },
      );
    });

  program
    .command('send')
    .description(
      'send one customer message and wait for the reply; prints the run log (handoffs, tool calls) and the reply',
    )
    .argument('<id>', 'conversation id', conversationIdArg)
    .argument('<text...>', 'the message (quote it, or its words are joined with spaces)')
    .action(async (id: string, words: string[], _opts: unknown, cmd: Command) => {
      const handle = await conversationHandle(id);
      const reply = await sendMessage(handle, words.join(' '));
      print(cmd, formatTurn(reply), reply);
    });

  program
    .command('rollback')
    .description('return control to the receptionist (at the next step boundary if a message is being handled)')
    .argument('<id>', 'conversation id', conversationIdArg)
    .option(
      '-r, --reason <text>',
      'why, recorded in the trail and told to the receptionist',
      'rollback requested from the command line',
    )
    .action(async (id: string, opts: { reason: string }, cmd: Command) => {
      const handle = await conversationHandle(id);
      const shop = await openInterrupts();
      const sent = await requestRollback(handle, opts.reason, shop?.interrupts).finally(() => shop?.close());
      print(
        cmd,
        `rollback requested for ${id} (${opts.reason}): the receptionist takes over at the next step boundary${sent.interrupted ? '' : ' (a local model step in flight hears it at its task heartbeat: the shop database is not reachable from here)'}`,
        { id, rollback: 'requested', reason: opts.reason, interrupted: sent.interrupted },
      );
    });

  program
    .command('state')
    .description('who has the conversation, its status, path, handoffs, rollbacks and trail')
    .argument('<id>', 'conversation id', conversationIdArg)
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const handle = await conversationHandle(id);
      const state = await handle.query(stateQuery);
      print(cmd, `${header(id, state)}\n${formatState(state)}`, { id, ...state });
    });

  program
    .command('history')
    .description("the conversation's transcript: customer messages, replies, tool calls and their results")
    .argument('<id>', 'conversation id', conversationIdArg)
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const handle = await conversationHandle(id);
      const history = await handle.query(historyQuery);
      print(cmd, formatHistory(history), history);
    });

  program
    .command('end')
    .description('close the conversation now (it cannot be reopened)')
    .argument('<id>', 'conversation id', conversationIdArg)
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const handle = await conversationHandle(id);
      await handle.signal(endSignal);
      print(cmd, `conversation ${id} ended`, { id, ended: true });
    });
}
