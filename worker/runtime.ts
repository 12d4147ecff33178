/**
 * Everything a worker needs besides Temporal: the model (a real OpenAI-compatible endpoint, or the
 * offline stand-in started here on loopback when OPENAI_API_KEY is unset, reached through the very
 * same `openai` client) and the shop database. Config is validated once, here, with a clear error.
 */
import { createActivities, type DeskActivities } from '../activities';
import { createOpenAIClient } from '../activities/model';
import { describeModelConfig, loadModelConfig } from '../activities/model-config';
import { defaultShopLocation, isPostgresUrl, openShopStore, redactUrl, type ShopStore } from '../activities/store';
import { startOfflineModel } from '../offline-model';
import { refundApprovalLimitCents } from '../config/approval-policy';

export interface DeskRuntime {
  activities: DeskActivities;
  store: ShopStore;
  /** One line for the start-up banner: model mode, endpoint, model name, database path. */
  description: string;
  close(): Promise<void>;
}

/**
 * `shopDb`: an SQLite path or a `postgres://` URL; by default `SHOP_DATABASE_URL`, else `SHOP_DB`,
 * else `.data/shop.db`.
 */
export async function createDeskRuntime(opts: { shopDb?: string; env?: NodeJS.ProcessEnv } = {}): Promise<DeskRuntime> {
  const cfg = loadModelConfig(opts.env ?? process.env);
  // Read before anything starts, so a bad value is one clear line and nothing to clean up.
  const refundLimitCents = refundApprovalLimitCents(opts.env ?? process.env);
  const offline = cfg.mode === 'offline' ? await startOfflineModel() : undefined;
  const openai = createOpenAIClient(offline ? { ...cfg, baseURL: offline.baseURL, apiKey: 'offline' } : cfg);
  const location = opts.shopDb ?? defaultShopLocation(opts.env ?? process.env);
  const store = await openShopStore(location).catch(async (err: unknown) => {
    await offline?.close();
    const where = isPostgresUrl(location) ? redactUrl(location) : location;
    throw new Error(`cannot open the shop database ${where}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  });
  const model = offline ? `offline model at ${offline.baseURL}` : describeModelConfig(cfg);
  return {
    activities: createActivities({ openai, model: cfg.model, store, refundApprovalLimitCents: refundLimitCents }),
    store,
    description: `model: ${model}; shop database: ${store.backend} ${store.location}`,
    async close() {
      await store.close();
      await offline?.close();
    },
  };
}
