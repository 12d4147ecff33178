/** The model configuration: defaults, the offline fallback, and errors a person can act on. */
import {
  DEFAULT_MODEL_TIMEOUT_MS,
  DEFAULT_OFFLINE_MODEL,
  DEFAULT_OPENAI_MODEL,
  ModelConfigError,
  describeModelConfig,
  loadModelConfig,
} from '../../activities/model-config';

const KEY = 'sk-test-SECRET-abcdef123456';

describe('loadModelConfig', () => {
  it('runs offline with its own model name when neither a key nor a base URL is set', () => {
    expect(loadModelConfig({})).toEqual({
      mode: 'offline',
      model: DEFAULT_OFFLINE_MODEL,
      timeoutMs: DEFAULT_MODEL_TIMEOUT_MS,
      stream: true,
    });
    expect(DEFAULT_OFFLINE_MODEL).toBe('offline-desk-model');
    expect(DEFAULT_MODEL_TIMEOUT_MS).toBe(60_000);
  });

  it('treats empty variables as unset', () => {
    expect(
      loadModelConfig({ OPENAI_API_KEY: '', OPENAI_BASE_URL: ' ', OPENAI_MODEL: '', OPENAI_TIMEOUT_MS: '' }).mode,
    ).toBe('offline');
  });

  it('uses OpenAI with gpt-4.1-mini when a key is set', () => {
    expect(loadModelConfig({ OPENAI_API_KEY: KEY })).toEqual({
      mode: 'openai',
      apiKey: KEY,
      model: DEFAULT_OPENAI_MODEL,
      timeoutMs: 60_000,
      stream: true,
    });
    expect(DEFAULT_OPENAI_MODEL).toBe('gpt-4.1-mini');
  });

  it('takes the base URL, model and timeout from the environment', () => {
    expect(
      loadModelConfig({
        OPENAI_API_KEY: KEY,
        OPENAI_BASE_URL: 'https://my-azure.openai.azure.com/openai/v1',
        OPENAI_MODEL: 'gpt-4o',
        OPENAI_TIMEOUT_MS: '15000',
      }),
    ).toEqual({
      mode: 'openai',
      apiKey: KEY,
      baseURL: 'https://my-azure.openai.azure.com/openai/v1',
      model: 'gpt-4o',
      timeoutMs: 15_000,
      stream: true,
    });
  });

  it('treats a base URL without a key as a keyless local server (Ollama, LM Studio)', () => {
    expect(loadModelConfig({ OPENAI_BASE_URL: 'http://localhost:11434/v1', OPENAI_MODEL: 'llama3.1' })).toEqual({
      mode: 'openai',
      baseURL: 'http://localhost:11434/v1',
      model: 'llama3.1',
      timeoutMs: 60_000,
      stream: true,
    });
  });

  it('streams unless DESK_MODEL_STREAM turns it off', () => {
    expect(loadModelConfig({ DESK_MODEL_STREAM: 'off' }).stream).toBe(false);
    expect(loadModelConfig({ DESK_MODEL_STREAM: 'OFF' }).stream).toBe(false);
    expect(loadModelConfig({ DESK_MODEL_STREAM: 'false' }).stream).toBe(false);
    expect(loadModelConfig({ DESK_MODEL_STREAM: 'on' }).stream).toBe(true);
    expect(loadModelConfig({ DESK_MODEL_STREAM: '' }).stream).toBe(true);
    expect(describeModelConfig(loadModelConfig({ DESK_MODEL_STREAM: 'off' }))).toContain('stream=off');
  });

  it.each([
    [{ DESK_MODEL_STREAM: 'maybe' }, /DESK_MODEL_STREAM: must be on or off.*"maybe"/],
    [{ OPENAI_BASE_URL: 'localhost:11434' }, /OPENAI_BASE_URL: must be an http\(s\) URL.*"localhost:11434"/],
    [{ OPENAI_BASE_URL: 'ftp://example.com/v1' }, /OPENAI_BASE_URL/],
    [{ OPENAI_TIMEOUT_MS: 'soon' }, /OPENAI_TIMEOUT_MS: must be a positive whole number of milliseconds.*"soon"/],
    [{ OPENAI_TIMEOUT_MS: '0' }, /OPENAI_TIMEOUT_MS: must be a positive/],
    [{ OPENAI_TIMEOUT_MS: '-5' }, /OPENAI_TIMEOUT_MS/],
    [{ OPENAI_TIMEOUT_MS: '2.5' }, /OPENAI_TIMEOUT_MS/],
  ])('rejects %j with a clear error', (env, message) => {
    expect(() => loadModelConfig(env)).toThrow(ModelConfigError);
    expect(() => loadModelConfig(env)).toThrow(message);
  });

  it('lists every bad variable at once and never echoes the key', () => {
    let error: unknown;
    try {
      loadModelConfig({ OPENAI_API_KEY: KEY, OPENAI_BASE_URL: 'nope', OPENAI_TIMEOUT_MS: 'x' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ModelConfigError);
    const message = (error as Error).message;
    expect(message).toContain('OPENAI_BASE_URL');
    expect(message).toContain('OPENAI_TIMEOUT_MS');
    expect(message).not.toContain('SECRET');
  });
});

describe('describeModelConfig', () => {
  it('says whether a key is set, never what it is', () => {
    const line = describeModelConfig(
      loadModelConfig({ OPENAI_API_KEY: KEY, OPENAI_BASE_URL: 'http://127.0.0.1:4010/v1' }),
    );
    expect(line).toContain('mode=openai');
    expect(line).toContain('http://127.0.0.1:4010/v1');
    expect(line).toContain('gpt-4.1-mini');
    expect(line).toContain('key: set');
    expect(line).not.toContain('SECRET');
    expect(describeModelConfig(loadModelConfig({}))).toContain('key: unset');
  });
});
