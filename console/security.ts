/**
 * What stands between a web page and a conversation: the console token and the cross-site checks.
 *
 * - Every request must name this console as its host (the `Host` header) when it listens on
 *   loopback, so a DNS-rebinding page (evil.example resolving to 127.0.0.1) cannot read it either.
 * - Every mutating request (anything but GET/HEAD) must carry the token in the `X-Desk-Token`
 *   header. A header, not a cookie: a browser attaches cookies to cross-site requests by itself,
 *   never a custom header, and a cross-site request with one needs a CORS preflight this server
 *   never grants. The comparison is constant-time.
 * - It must also be JSON (`Content-Type: application/json`: an HTML form cannot send that), and,
 *   when the browser says where it comes from, come from this very origin (`Origin`) and be
 *   `Sec-Fetch-Site: same-origin`.
 *
 * The token is DESK_CONSOLE_TOKEN, or one generated at start; it is never written to a log.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TOKEN_HEADER } from './api-types';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

/** The token from DESK_CONSOLE_TOKEN, or a new random one (`generated` says which, so only a new one is printed). */
export function consoleToken(env: NodeJS.ProcessEnv = process.env): { token: string; generated: boolean } {
  const set = env.DESK_CONSOLE_TOKEN?.trim();
  if (set) {
    if (set.length < 16) throw new Error('DESK_CONSOLE_TOKEN is shorter than 16 characters: use a longer secret');
    return { token: set, generated: false };
  }
  return { token: randomBytes(24).toString('base64url'), generated: true };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Constant-time comparison (of digests, so the lengths never differ). */
export function sameToken(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

export function isLoopback(host: string): boolean {
  return LOOPBACK_NAMES.includes(host) || host === '::1' || host.startsWith('127.');
}

export interface GuardOptions {
  token: string;
  /** The `host:port` names this console answers to; empty means any (it listens beyond loopback). */
  hosts: string[];
}

/** The `Host` values a console listening on `host:port` answers to. */
export function allowedHosts(host: string, port: number): string[] {
  if (!isLoopback(host)) return [];
  return LOOPBACK_NAMES.map((name) => `${name}:${port}`);
}

/** Why a request is refused, or undefined when it may go on. */
export function refusal(
  req: Pick<FastifyRequest, 'method' | 'headers'>,
  opts: GuardOptions,
): { status: number; error: string } | undefined {
  const host = req.headers.host ?? '';
  if (opts.hosts.length && !opts.hosts.includes(host))
    return { status: 421, error: `this console does not answer to host ${JSON.stringify(host)}` };
  if (SAFE_METHODS.has(req.method)) return undefined;

  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin')
    return { status: 403, error: `cross-site request refused (Sec-Fetch-Site: ${String(site)})` };
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${host}`)
    return { status: 403, error: `cross-origin request refused (Origin ${origin})` };
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type))
    return { status: 415, error: 'send JSON: Content-Type must be application/json' };
  const given = req.headers[TOKEN_HEADER];
  if (typeof given !== 'string' || given === '')
    return { status: 401, error: `the console token is missing: send it in the ${TOKEN_HEADER} header` };
  if (!sameToken(given, opts.token)) return { status: 403, error: 'the console token is wrong' };
  return undefined;
}

/** The Fastify `onRequest` hook: refuse before the body is even read. */
export function guard(opts: GuardOptions) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const refused = refusal(req, opts);
    if (refused) await reply.code(refused.status).send({ error: refused.error });
  };
}
