/**
 * When tracing and metrics are on, and where they go: off unless their settings are set (the
 * desk then builds its workers and clients exactly as before), the OTLP traces URL as the
 * exporter specification derives it, and a bad metrics port refused with one clear line.
 */
import { startTracing, tracesUrl, tracingEnabled } from '../../config/tracing';
import { metricsEndpoint } from '../../worker/worker';

test('tracing is off, and nothing is set up, without an OTLP endpoint', () => {
  expect(tracingEnabled({})).toBe(false);
  expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' })).toBe(false);
  expect(startTracing('desk-test', {})).toBeUndefined();
  expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true);
  expect(tracingEnabled({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://tempo:4318/v1/traces' })).toBe(true);
});

test('spans go to <endpoint>/v1/traces, or to the traces endpoint as given', () => {
  expect(tracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318/' })).toBe('http://jaeger:4318/v1/traces');
  expect(
    tracesUrl({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://tempo:4318/custom',
    }),
  ).toBe('http://tempo:4318/custom');
});

test('metrics are off by default, on loopback when DESK_METRICS_PORT is set, and a bad port is one line', () => {
  expect(metricsEndpoint({})).toBeUndefined();
  expect(metricsEndpoint({ DESK_METRICS_PORT: '9464' })).toEqual({ host: '127.0.0.1', port: 9464 });
  expect(metricsEndpoint({ DESK_METRICS_PORT: '9464', DESK_METRICS_HOST: '0.0.0.0' })).toEqual({
    host: '0.0.0.0',
    port: 9464,
  });
  expect(() => metricsEndpoint({ DESK_METRICS_PORT: '70000' })).toThrow(
    'DESK_METRICS_PORT must be a port number from 1 to 65535, got "70000"',
  );
  expect(() => metricsEndpoint({ DESK_METRICS_PORT: 'http' })).toThrow(/DESK_METRICS_PORT must be a port number/);
  expect(() => metricsEndpoint({ DESK_METRICS_PORT: '9464', DESK_METRICS_HOST: 'a b' })).toThrow(
    'DESK_METRICS_HOST is not a host: "a b"',
  );
});
