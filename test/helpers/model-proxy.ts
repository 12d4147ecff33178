/**
 * An OpenAI-compatible endpoint outside the worker processes (it must outlive them, as a real
 * provider does): the offline model behind a proxy that can hold each request before passing it on.
 * The crash test holds every request for a few seconds (a slow model step); the upgrade test holds
 * chosen ones until it lets them go (turns caught in the middle of a release).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startOfflineModel } from '../../offline-model';

export interface ModelProxy {
  baseURL: string;
  /** Requests held or on their way to the model right now. */
  inFlight(): number;
  /** Resolves when the first request arrives. */
  arrived: Promise<void>;
  close(): Promise<void>;
}

/** `hold(body)` is awaited before a request (its JSON body as text) goes on to the offline model. */
export async function startModelProxy(hold: (body: string) => Promise<void>): Promise<ModelProxy> {
  const offline = await startOfflineModel();
  let inFlight = 0;
  let markArrived!: () => void;
  const arrived = new Promise<void>((resolve) => (markArrived = resolve));
  const proxy: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      inFlight++;
      markArrived();
      const body = Buffer.concat(chunks);
      hold(body.toString())
        .then(() =>
          fetch(`${offline.baseURL}${req.url!.replace(/^\/v1/, '')}`, {
            method: req.method,
            headers: { 'content-type': 'application/json' },
            body,
          }),
        )
        .then(async (r) => {
          res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text());
        })
        .catch(() => res.destroy())
        .finally(() => inFlight--);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    baseURL: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/v1`,
    inFlight: () => inFlight,
    arrived,
    async close() {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
      await offline.close();
    },
  };
}
