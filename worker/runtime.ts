/**
 * Everything a worker needs besides Temporal: the model (a real OpenAI-compatible endpoint, or the
 * offline stand-in started here on loopback when OPENAI_API_KEY is unset, reached through the very
 * same `openai` client) and the shop database. Config is validated once, here, with a clear error.
 */
import { Client, Connection } from '@temporalio/client';
import { createActivities, type DeskActivities } from '../activities';
import { queryTranscriptSource, type TranscriptSource } from '../activities/transcripts';
import { temporalSettings } from '../config/connection';
import { createOpenAIClient } from '../activities/model';
import { describeModelConfig, loadModelConfig } from '../activities/model-config';
import { defaultShopLocation, isPostgresUrl, openShopStore, redactUrl, type ShopStore } from '../activities/store';
import { offlineChunkDelayMs, startOfflineModel } from '../offline-model';
import { refundApprovalLimitCents } from '../config/approval-policy';
import { loadPriceTable } from '../activities/prices';

export interface DeskRuntime {
  activities: DeskActivities;
  store: ShopStore;
  /** One line for the start-up banner: model mode, endpoint, model name, database path. */
  description: string;
  close(): Promise<void>;
}

export interface DeskRuntimeOptions {
  /** An SQLite path or a `postgres://` URL; by default `SHOP_DATABASE_URL`, else `SHOP_DB`, else `.data/shop.db`. */
  shopDb?: string;
  /** Where the model configuration is read (OPENAI_*); process.env by default. */
  env?: NodeJS.ProcessEnv;
  /**
   * Where a model step fetches a transcript its worker has not cached. By default the conversation's
   * `history` query through a client of the Temporal that TEMPORAL_ADDRESS names (connected on first use).
   */
  transcripts?: TranscriptSource;
}

export async function createDeskRuntime(opts: DeskRuntimeOptions = {}): Promise<DeskRuntime> {
  const cfg = loadModelConfig(opts.env ?? process.env);
  // Read before anything starts, so a bad value is one clear line and nothing to clean up.
  const refundLimitCents = refundApprovalLimitCents(opts.env ?? process.env);
  const priceTable = loadPriceTable(opts.env ?? process.env);
  const offline =
    cfg.mode === 'offline'
      ? await startOfflineModel({ chunkDelayMs: offlineChunkDelayMs(opts.env ?? process.env) })
      : undefined;
  const openai = createOpenAIClient(offline ? { ...cfg, baseURL: offline.baseURL, apiKey: 'offline' } : cfg);
  const location = opts.shopDb ?? defaultShopLocation(opts.env ?? process.env);
  const store = await openShopStore(location).catch(async (err: unknown) => {
    await offline?.close();
    const where = isPostgresUrl(location) ? redactUrl(location) : location;
    throw new Error(`cannot open the shop database ${where}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  });
  const model = offline ? `offline model at ${offline.baseURL}` : describeModelConfig(cfg);
  let connection: Connection | undefined;
  const transcripts =
    opts.transcripts ??
    ((): TranscriptSource => {
      const settings = temporalSettings();
      connection = Connection.lazy(settings.connectionOptions as Parameters<typeof Connection.lazy>[0]);
      return queryTranscriptSource(new Client({ connection, namespace: settings.namespace }));
    })();
  return {
    activities: createActivities({
      openai,
      model: cfg.model,
      stream: cfg.stream,
      store,
      transcripts,
      refundApprovalLimitCents: refundLimitCents,
      prices: priceTable.prices,
      modelSystem: offline ? 'offline' : 'openai',
    }),
    store,
    description: `model: ${model}; shop database: ${store.backend} ${store.location}; prices: ${priceTable.file}${Object.hasOwn(priceTable.prices, cfg.model) ? '' : ` (no price for ${cfg.model}: cost unknown)`}`,
    async close() {
      await connection?.close();
      await store.close();
      await offline?.close();
    },
  };
}
