/**
 * The page's side of the console API: JSON requests with the console token in a header (never a
 * cookie), and every refusal turned into the server's one line, for the page to show.
 */
import { TOKEN_HEADER, type ApiError } from '../api-types';

const TOKEN_KEY = 'desk-console-token';

/** A token handed over in the URL's fragment (`#token=…`, printed at start) is kept, then dropped from the address bar. */
export function adoptTokenFromUrl(): void {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!match?.[1]) return;
  setToken(decodeURIComponent(match[1]));
  history.replaceState(null, '', `${location.pathname}${location.search}#/`);
}

export function getToken(): string {
  return localStorage.getItem(TOKEN_KEY) ?? '';
}

export function setToken(token: string): void {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

export class ApiFailure extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

async function request<T>(method: string, url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (method !== 'GET') {
    headers['content-type'] = 'application/json';
    headers[TOKEN_HEADER] = getToken();
  }
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = (await res.json().catch(() => ({ error: `${res.status} ${res.statusText}` }))) as T | ApiError;
  if (!res.ok) throw new ApiFailure((data as ApiError).error ?? `${res.status} ${res.statusText}`, res.status);
  return data as T;
}

export const get = <T>(url: string) => request<T>('GET', url);
export const post = <T>(url: string, body: unknown = {}) => request<T>('POST', url, body);

export const conversationUrl = (id: string) => `/api/conversations/${encodeURIComponent(id)}`;
