/**
 * OpenTelemetry tracing, on only when OTEL_EXPORTER_OTLP_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set: then a tracer provider exporting over OTLP/HTTP is
 * registered for this process, and Temporal's OpenTelemetry interceptors
 * (`@temporalio/interceptors-opentelemetry`) carry the trace from the client's call through the
 * workflow into the activities, so one trace shows a whole turn. When unset, none of the
 * OpenTelemetry SDK is even loaded (dynamic imports below) and workers and clients are built
 * exactly as before.
 *
 * The exporter reads the standard OTEL_EXPORTER_OTLP_* settings (endpoint, headers, timeout);
 * OTEL_SERVICE_NAME names the service. Spans are batched (OTEL_BSP_SCHEDULE_DELAY) and flushed
 * on shutdown.
 */
import type { ClientInterceptors } from '@temporalio/client';
import type { WorkerOptions } from '@temporalio/worker';

export interface Tracing {
  /** Where the spans are sent (OTLP/HTTP). */
  url: string;
  /** Interceptors for a Client, so its calls start (or join) the trace. */
  clientInterceptors: ClientInterceptors;
  /** Worker options adding the workflow and activity interceptors and the workflow span sink. */
  workerOptions(): Pick<WorkerOptions, 'interceptors' | 'sinks'>;
  /** Flushes the spans still batched and stops exporting. */
  shutdown(): Promise<void>;
}

export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

let started: Promise<Tracing> | undefined;

/**
 * This process's tracing, started on first call (a tracer provider is process-wide), or undefined
 * when no OTLP endpoint is set.
 */
export function startTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): Promise<Tracing> | undefined {
  if (!tracingEnabled(env)) return undefined;
  started ??= setUp(env.OTEL_SERVICE_NAME?.trim() || serviceName, tracesUrl(env));
  return started;
}

/** Flushes and stops this process's tracing, if it was started. */
export async function shutdownTracing(): Promise<void> {
  const tracing = await started?.catch(() => undefined);
  await tracing?.shutdown();
}

/** Where spans go, as the OTLP exporter specification says: the traces endpoint as is, else `<endpoint>/v1/traces`. */
export function tracesUrl(env: NodeJS.ProcessEnv): string {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  return `${env.OTEL_EXPORTER_OTLP_ENDPOINT!.trim().replace(/\/+$/, '')}/v1/traces`;
}

async function setUp(serviceName: string, url: string): Promise<Tracing> {
  const [
    { BasicTracerProvider, BatchSpanProcessor },
    { Resource },
    { OTLPTraceExporter },
    { AsyncLocalStorageContextManager },
    otel,
  ] = await Promise.all([
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/context-async-hooks'),
    import('@temporalio/interceptors-opentelemetry'),
  ]);
  const resource = new Resource({ 'service.name': serviceName });
  const processor = new BatchSpanProcessor(new OTLPTraceExporter({ url }));
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  // The context manager makes a span active across awaits, so an activity's own spans nest under
  // the interceptor's RunActivity span.
  provider.register({ contextManager: new AsyncLocalStorageContextManager().enable() });
  return {
    url,
    clientInterceptors: { workflow: [new otel.OpenTelemetryWorkflowClientInterceptor()] },
    workerOptions: () => ({
      interceptors: {
        workflowModules: [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')],
        activity: [
          (ctx) => ({
            inbound: new otel.OpenTelemetryActivityInboundInterceptor(ctx),
            outbound: new otel.OpenTelemetryActivityOutboundInterceptor(ctx),
          }),
        ],
      },
      sinks: { exporter: otel.makeWorkflowExporter(processor, resource) },
    }),
    shutdown: () => provider.shutdown(),
  };
}
