/**
 * Where the model comes from, read and validated once at start-up from the environment.
 *
 * With no `OPENAI_API_KEY` and no `OPENAI_BASE_URL` the desk runs on the offline stand-in model
 * (`offline-model/`), so it works with no account and no internet. A base URL without a key is
 * taken as a local OpenAI-compatible server that needs no key (Ollama, LM Studio, vLLM, or an
 * offline model started on its own), so it is `openai` mode too. The key itself is never printed:
 * log `describeModelConfig(cfg)`, not `cfg`.
 */
import { z } from 'zod';

export const DEFAULT_OPENAI_MODEL = 'gpt-4.1-mini';
export const DEFAULT_OFFLINE_MODEL = 'offline-desk-model';
export const DEFAULT_MODEL_TIMEOUT_MS = 60_000;

/** The validated model configuration. */
export interface ModelConfig {
  /** `openai`: a real OpenAI-compatible endpoint; `offline`: the deterministic stand-in the desk starts itself. */
  mode: 'openai' | 'offline';
  apiKey?: string;
  /** Unset means the `openai` package default (https://api.openai.com/v1). */
  baseURL?: string;
  model: string;
  /** Per-request timeout of one model call, in milliseconds. */
  timeoutMs: number;
  /**
   * Ask for a streamed answer (`stream: true`) and publish its text to the reply stream
   * (activities/reply-stream.ts). On unless DESK_MODEL_STREAM=off, for endpoints that cannot stream.
   */
  stream: boolean;
}

/** An empty variable (`OPENAI_API_KEY=` in a .env file) means unset. */
const optionalText = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
  z.string().trim().optional(),
);

const envSchema = z.object({
  OPENAI_API_KEY: optionalText,
  OPENAI_BASE_URL: optionalText.pipe(
    z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://localhost:11434/v1' }).optional(),
  ),
  OPENAI_MODEL: optionalText,
  OPENAI_TIMEOUT_MS: optionalText.pipe(
    z
      .string()
      .regex(/^\d+$/, 'must be a positive whole number of milliseconds, e.g. 60000')
      .transform(Number)
      .pipe(z.number().int().positive('must be a positive whole number of milliseconds, e.g. 60000'))
      .optional(),
  ),
  DESK_MODEL_STREAM: optionalText.pipe(
    z
      .enum(['on', 'off', 'true', 'false', '1', '0'], { error: 'must be on or off' })
      .transform((v) => v === 'on' || v === 'true' || v === '1')
      .optional(),
  ),
});

/** Thrown by `loadModelConfig`; its message lists every bad variable (never a variable's secret value). */
export class ModelConfigError extends Error {
  override readonly name = 'ModelConfigError';
}

export function loadModelConfig(env: NodeJS.ProcessEnv = process.env): ModelConfig {
  const parsed = envSchema.safeParse({
    OPENAI_API_KEY: env.OPENAI_API_KEY,
    OPENAI_BASE_URL: env.OPENAI_BASE_URL,
    OPENAI_MODEL: env.OPENAI_MODEL,
    OPENAI_TIMEOUT_MS: env.OPENAI_TIMEOUT_MS,
    DESK_MODEL_STREAM: env.DESK_MODEL_STREAM?.toLowerCase(),
  });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      // Echo what was given, to make typos obvious, except for the key.
      const given = name === 'OPENAI_API_KEY' ? '' : ` (got ${JSON.stringify(env[name])})`;
      return `- ${name}: ${issue.message}${given}`;
    });
    throw new ModelConfigError(`Invalid model configuration:\n${lines.join('\n')}`);
  }
  const {
    OPENAI_API_KEY: apiKey,
    OPENAI_BASE_URL: baseURL,
    OPENAI_MODEL,
    OPENAI_TIMEOUT_MS,
    DESK_MODEL_STREAM,
  } = parsed.data;
  const mode = apiKey !== undefined || baseURL !== undefined ? 'openai' : 'offline';
  return {
    mode,
    ...(apiKey !== undefined && { apiKey }),
    ...(baseURL !== undefined && { baseURL }),
    model: OPENAI_MODEL ?? (mode === 'openai' ? DEFAULT_OPENAI_MODEL : DEFAULT_OFFLINE_MODEL),
    timeoutMs: OPENAI_TIMEOUT_MS ?? DEFAULT_MODEL_TIMEOUT_MS,
    stream: DESK_MODEL_STREAM ?? true,
  };
}

/** One log line describing the configuration; says whether a key is set, never what it is. */
export function describeModelConfig(cfg: ModelConfig): string {
  const base =
    cfg.baseURL ?? (cfg.mode === 'offline' ? 'offline model (started by the desk)' : 'https://api.openai.com/v1');
  return `model: mode=${cfg.mode} baseURL=${base} model=${cfg.model} timeout=${cfg.timeoutMs}ms stream=${cfg.stream ? 'on' : 'off'} key: ${cfg.apiKey ? 'set' : 'unset'}`;
}
