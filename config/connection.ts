/**
 * Where Temporal is, the Temporal way: `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`,
 * `TEMPORAL_TLS_*` and the TOML profiles, read by @temporalio/envconfig. The worker and every
 * client command share this, so the same commands work against the dev server, a self-hosted
 * cluster or Temporal Cloud.
 */
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { startTracing } from './tracing';

export const DEFAULT_ADDRESS = '127.0.0.1:7233';

export interface TemporalSettings {
  address: string;
  namespace: string;
  connectionOptions: NativeConnectionOptions;
}

export function temporalSettings(): TemporalSettings {
  const { connectionOptions, namespace } = loadClientConnectConfig();
  const address = connectionOptions.address ?? DEFAULT_ADDRESS;
  return { address, namespace: namespace ?? 'default', connectionOptions: { ...connectionOptions, address } };
}

/** A connected client, or a one-line error that says how to start a server. */
export async function connectClient(settings = temporalSettings()): Promise<Client> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...settings.connectionOptions, connectTimeout: '5 seconds' } as Parameters<
      typeof Connection.connect
    >[0]);
  } catch (err) {
    throw new Error(unreachableMessage(settings.address, (err as Error).message));
  }
  // With an OTLP endpoint set, the client's calls start the traces the worker continues.
  const tracing = await startTracing('desk-client');
  return new Client({
    connection,
    namespace: settings.namespace,
    ...(tracing && { interceptors: tracing.clientInterceptors }),
  });
}

/** The one line every client prints when Temporal cannot be reached, at connect time or later. */
export function unreachableMessage(address: string, detail: string): string {
  return `cannot reach Temporal at ${address} (${detail}); start one with \`npm start\` or set TEMPORAL_ADDRESS`;
}

/** The Temporal Web UI link of a conversation, when the server is the local dev server. */
export function uiLink(
  workflowId: string,
  settings = temporalSettings(),
  uiBase = process.env.TEMPORAL_UI_URL ?? 'http://localhost:8233',
): string {
  return `${uiBase}/namespaces/${encodeURIComponent(settings.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
