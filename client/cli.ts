/**
 * The desk's command-line client: `npm run client -- <command>` (or `desk <command>` once linked).
 * Start conversations, talk to them, steer them (rollback, end), look inside (state, history) and
 * find them (list, by the search attributes). Every command takes `--json` for scripts.
 *
 * Exit codes: 0 ok, 1 bad usage or a rejected message, 2 no such conversation or a closed one,
 * 3 Temporal out of reach. Errors are one line on stderr (DESK_DEBUG=1 adds the stack).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { Client } from '@temporalio/client';
import { historyQuery, rollbackSignal, endSignal, stateQuery, type ConversationSnapshot } from '../workflows/messages';
import { AGENT_NAMES } from '../agents';
import { connectClient, temporalSettings, uiLink, type TemporalSettings } from '../config/connection';
import { checkCustomerId, sendMessage, startConversation, startWithMessage, type ConversationHandle } from './conversations';
import { formatState, formatTurn } from './run-log';
import { CHAT_HELP, runChat } from './commands/chat';
import { CliError, EXIT, closed, explain, oneLine, type ErrorContext } from './commands/errors';
import { formatHistory } from './commands/format';
import { formatRows, listConversations, listQuery } from './commands/list';

interface GlobalOptions {
  json?: boolean;
}

/** What the running command has touched, so errors can be explained and the connection closed. */
const session: ErrorContext & { settings?: TemporalSettings } = { address: '?' };

async function connect(): Promise<Client> {
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

async function conversationHandle(id: string): Promise<ConversationHandle> {
  session.conversationId = id;
  const client = await connect();
  return client.workflow.getHandle(id) as ConversationHandle;
}

function print(cmd: Command, text: string, data: unknown): void {
  const { json } = cmd.optsWithGlobals<GlobalOptions>();
  process.stdout.write(`${json ? JSON.stringify(data, null, 2) : text}\n`);
}

function customerArg(value: string): string {
  try {
    return checkCustomerId(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function conversationIdArg(value: string): string {
  if (!/^[^\s\u0000-\u001f]{1,255}$/.test(value)) throw new InvalidArgumentError('a conversation id is 1-255 characters, without spaces');
  return value;
}

function positiveIntArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new InvalidArgumentError('use a whole number from 1 to 1000');
  return n;
}

function header(id: string, state: Pick<ConversationSnapshot, 'customerId'>): string {
  return `conversation ${id} (customer ${state.customerId})`;
}

export function buildProgram(): Command {
  const program = new Command('desk')
    .description('Talk to the durable customer-service desk: start conversations, send messages, roll back to the receptionist, inspect and list them.')
    .option('--json', 'machine-readable output (JSON) instead of text')
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`${oneLine(text)} (see --help)\n`) })
    .showSuggestionAfterError()
    .addHelpText(
      'after',
      `
Examples (with \`npm run client --\` in front, or \`desk\` once linked):
  start --customer alice --message "Has my order #12345 shipped?"
  send conversation-alice-1a2b3c4d "Please cancel it"
  state conversation-alice-1a2b3c4d
  rollback conversation-alice-1a2b3c4d --reason "wrong department"
  list --agent order --open
  chat --customer bob

Temporal is found through TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE and the
other TEMPORAL_* settings. Exit codes: 0 ok, 1 usage or rejected message, 2 unknown or closed
conversation, 3 Temporal unreachable.`,
    );

  program
    .command('start')
    .description('start a conversation for a customer; with --message, send the first message in the same round trip and print the reply')
    .requiredOption('-c, --customer <id>', 'customer the conversation acts for (tools only see their orders)', customerArg)
    .option('-m, --message <text>', 'first customer message')
    .option('--id <conversation id>', 'conversation id to use (default conversation-<customer>-<random>)', conversationIdArg)
    .action(async (opts: { customer: string; message?: string; id?: string }, cmd: Command) => {
      if (opts.message !== undefined && opts.message.trim() === '') throw new CliError('message rejected: the message is empty', EXIT.usage);
      session.conversationId = opts.id;
      const client = await connect();
      const input = { customerId: opts.customer };
      if (opts.message === undefined) {
        const handle = await startConversation(client, input, { workflowId: opts.id });
        const link = uiLink(handle.workflowId, session.settings);
        print(
          cmd,
          [`conversation ${handle.workflowId} started for ${opts.customer}`, `ui: ${link}`, `send the first message: npm run client -- send ${handle.workflowId} "<message>"`].join('\n'),
          { id: handle.workflowId, customerId: opts.customer, uiLink: link },
        );
        return;
      }
      const { handle, reply } = await startWithMessage(client, input, opts.message, { workflowId: opts.id });
      const link = uiLink(handle.workflowId, session.settings);
      print(cmd, [`conversation ${handle.workflowId} started for ${opts.customer}`, `ui: ${link}`, formatTurn(reply)].join('\n'), {
        id: handle.workflowId,
        customerId: opts.customer,
        uiLink: link,
        reply,
      });
    });

  program
    .command('send')
    .description('send one customer message and wait for the reply; prints the run log (handoffs, tool calls) and the reply')
    .argument('<id>', 'conversation id', conversationIdArg)
    .argument('<text...>', 'the message (quote it, or its words are joined with spaces)')
    .action(async (id: string, words: string[], _opts: unknown, cmd: Command) => {
      const handle = await conversationHandle(id);
      const reply = await sendMessage(handle, words.join(' '));
      print(cmd, formatTurn(reply), reply);
    });

  program
    .command('chat')
    .description('talk to the desk interactively (also reads piped lines); a new conversation, or an existing one with --id')
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
        process.stdout.write(`${json ? JSON.stringify({ event: 'attached', id: opts.id, ...state }) : `${text}\n/help lists the commands`}\n`);
      } else {
        const client = await connect();
        handle = await startConversation(client, { customerId: opts.customer });
        session.conversationId = handle.workflowId;
        const link = uiLink(handle.workflowId, session.settings);
        const text = `conversation ${handle.workflowId} started for ${opts.customer}\nui: ${link}\n/help lists the commands`;
        process.stdout.write(`${json ? JSON.stringify({ event: 'started', id: handle.workflowId, customerId: opts.customer, uiLink: link }) : text}\n`);
      }
      await runChat({ client: session.client!, handle, json: Boolean(json), errorContext: session });
    });

  program
    .command('rollback')
    .description('return control to the receptionist (at the next step boundary if a message is being handled)')
    .argument('<id>', 'conversation id', conversationIdArg)
    .option('-r, --reason <text>', 'why, recorded in the trail and told to the receptionist', 'rollback requested from the command line')
    .action(async (id: string, opts: { reason: string }, cmd: Command) => {
      const handle = await conversationHandle(id);
      await handle.signal(rollbackSignal, { reason: opts.reason });
      print(cmd, `rollback requested for ${id} (${opts.reason}): the receptionist takes over at the next step boundary`, { id, rollback: 'requested', reason: opts.reason });
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

  program
    .command('list')
    .description('find conversations by their search attributes (current agent, customer, status): open ones first, then the most recently closed')
    .addOption(new Option('-a, --agent <name>', 'only conversations this agent has now').choices(AGENT_NAMES))
    .option('-c, --customer <id>', "only this customer's conversations", customerArg)
    .option('--open', 'only conversations still running')
    .option('-n, --limit <n>', 'at most this many', positiveIntArg, 50)
    .addHelpText('after', `\nThe filters become a visibility query, usable in the Web UI too, e.g.\n  ${listQuery({ agent: 'order', customer: 'alice', open: true })}\nSearch attributes are updated asynchronously: a change can take a second to show.`)
    .action(async (opts: { agent?: string; customer?: string; open?: boolean; limit: number }, cmd: Command) => {
      const query = listQuery(opts);
      const client = await connect();
      const rows = await listConversations(client, query, opts.limit);
      print(cmd, rows.length ? formatRows(rows) : `no conversations match: ${query}`, rows);
    });

  return program;
}

/** Parse and run one command; resolves to the exit code. Never throws. */
export async function main(argv: string[] = process.argv): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage; // commander has printed it
    const e = await explain(err, session);
    process.stderr.write(`error: ${e.message}\n`);
    if (process.env.DESK_DEBUG) console.error(err);
    return e.exitCode;
  } finally {
    await session.client?.connection.close().catch(() => undefined);
  }
}

/** Run as a program: set the exit code, and make sure nothing keeps the process alive afterwards. */
export function run(): void {
  // `desk list | head`: a closed pipe is the reader's choice, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    throw err;
  });
  void main().then((code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 2_000).unref();
  });
}

if (require.main === module) run();
