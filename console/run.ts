/**
 * Starting the console from the environment, shared by `npm run console` and `npm start`:
 * DESK_CONSOLE_HOST (default 127.0.0.1), DESK_CONSOLE_PORT (default 4100) and DESK_CONSOLE_TOKEN
 * (generated when unset). Only a generated token is printed, inside the URL's fragment, which a
 * browser never sends to the server: the page keeps it and drops it from the address bar.
 */
import type { Client } from '@temporalio/client';
import type { ReplyStreamReader } from '../activities/reply-stream';
import type { InterruptStore } from '../activities/store';
import type { TemporalSettings } from '../config/connection';
import { createConsole, type RunningConsole } from './server';
import { consoleToken, isLoopback } from './security';

export const DEFAULT_CONSOLE_PORT = 4100;

export interface StartedConsole {
  console: RunningConsole;
  client: Client;
  /** The URL to open: with the token in its fragment when the token was generated here. */
  openUrl: string;
  tokenGenerated: boolean;
  host: string;
}

export function consolePort(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.DESK_CONSOLE_PORT;
  if (raw === undefined || raw === '') return DEFAULT_CONSOLE_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`DESK_CONSOLE_PORT=${raw} is not a port number (0-65535; 0 picks a free one)`);
  return port;
}

export async function startConsoleFromEnv(opts: {
  client: Client;
  settings: TemporalSettings;
  streams?: ReplyStreamReader;
  interrupts?: InterruptStore;
  env?: NodeJS.ProcessEnv;
}): Promise<StartedConsole> {
  const env = opts.env ?? process.env;
  const { token, generated } = consoleToken(env);
  const host = env.DESK_CONSOLE_HOST || '127.0.0.1';
  const running = await createConsole({
    client: opts.client,
    token,
    host,
    port: consolePort(env),
    streams: opts.streams,
    interrupts: opts.interrupts,
    namespace: opts.settings.namespace,
    temporalAddress: opts.settings.address,
  });
  return {
    console: running,
    client: opts.client,
    openUrl: generated ? `${running.url}#token=${token}` : running.url,
    tokenGenerated: generated,
    host,
  };
}

/** The start-up lines: where to open it, and where the token comes from (never the token itself when it was set). */
export function consoleBanner(started: StartedConsole): string {
  const lines = [`Console:      ${started.openUrl}`];
  lines.push(
    started.tokenGenerated
      ? '              (a token generated for this run is in the link; set DESK_CONSOLE_TOKEN to choose one)'
      : '              (token: DESK_CONSOLE_TOKEN; the page asks for it once)',
  );
  if (!isLoopback(started.host))
    lines.push(`              listening on ${started.host}: anyone who can reach it and has the token can act`);
  return lines.join('\n');
}
