/**
 * The price table a worker prices model steps with: config/prices.json in the repo, or the file
 * DESK_PRICES_FILE names (same shape). Read and validated once at start-up; a bad file is one
 * clear error, never a silent zero. A model missing from the table gets no cost (shown "unknown").
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { PriceTable } from '../contract/usage';

export const DEFAULT_PRICES_FILE = path.resolve(__dirname, '..', 'config', 'prices.json');

const perMTok = z.number().finite().min(0).max(10_000);
const priceFileSchema = z.object({
  about: z.string().optional(),
  models: z.record(
    z.string().min(1).max(128),
    z.strictObject({ inputPerMTok: perMTok, outputPerMTok: perMTok, cachedInputPerMTok: perMTok.optional() }),
  ),
});

/** The price table from DESK_PRICES_FILE, else config/prices.json. Throws one line naming the file on a bad one. */
export function loadPriceTable(env: NodeJS.ProcessEnv = process.env): { file: string; prices: PriceTable } {
  const file = env.DESK_PRICES_FILE ? path.resolve(env.DESK_PRICES_FILE) : DEFAULT_PRICES_FILE;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the price table ${file}: ${(err as Error).message}`);
  }
  const parsed = priceFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`the price table ${file} is invalid at ${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  return { file, prices: parsed.data.models };
}
