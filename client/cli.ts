/**
 * The desk's command-line client: `npm run client -- <command>` (or `desk <command>` once linked).
 * Start conversations, talk to them, steer them (rollback, end), look inside (state, history) and
 * find them (list, by the search attributes), and decide refunds that wait for a person (approvals,
 * approve, reject). Every command takes `--json` for scripts.
 *
 * Exit codes: 0 ok, 1 bad usage or a rejected message, 2 no such conversation or a closed one,
 * 3 Temporal out of reach. Errors are one line on stderr (DESK_DEBUG=1 adds the stack).
 */
import { Command, CommanderError } from 'commander';
import { shutdownTracing } from '../config/tracing';
import { registerApprovalCommands } from './commands/approvals';
import { registerChatCommand } from './commands/chat';
import { session } from './commands/context';
import { registerConversationCommands } from './commands/conversation';
import { EXIT, explain, oneLine } from './commands/errors';
import { registerListCommand } from './commands/list';

export function buildProgram(): Command {
  const program = new Command('desk')
    .description(
      'Talk to the durable customer-service desk: start conversations, send messages, roll back to the receptionist, inspect and list them.',
    )
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
  approvals
  approve conversation-bob-5e6f7a8b apr-1-1-0 --by sam.supervisor --note "photos checked"
  chat --customer bob

Temporal is found through TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE and the
other TEMPORAL_* settings. Exit codes: 0 ok, 1 usage or rejected message, 2 unknown or closed
conversation, 3 Temporal unreachable.`,
    );

  registerConversationCommands(program);
  registerChatCommand(program);
  registerListCommand(program);
  registerApprovalCommands(program);
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
    // Spans are batched: sent before the process exits (a no-op when tracing is off).
    await shutdownTracing().catch(() => undefined);
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
