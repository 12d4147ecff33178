/**
 * The replay guard with tracing on: every recorded history, from releases made before the desk
 * had spans, replayed against today's workflow code bundled with the OpenTelemetry workflow
 * interceptors, as a worker with OTEL_EXPORTER_OTLP_ENDPOINT set runs it (config/tracing.ts).
 * Turning tracing on must not strand a running conversation on a non-determinism error, and a
 * replay must not export its spans a second time.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Resource } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../../worker/worker';
import { HISTORIES_DIR } from '../helpers/histories';
import { quietRuntime } from '../helpers/temporal-env';

const FILES = readdirSync(HISTORIES_DIR, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.json'))
  .sort();

const exported = new InMemorySpanExporter();
const sinks = { exporter: makeWorkflowExporter(new SimpleSpanProcessor(exported), new Resource({})) };
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  quietRuntime();
  bundle = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    workflowInterceptorModules: [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')],
    logger: new DefaultLogger('WARN'),
  });
}, 120_000);

test.each(FILES)('%s replays with the OpenTelemetry interceptors, exporting nothing again', async (file) => {
  const history = temporal.api.history.v1.History.fromObject(
    JSON.parse(readFileSync(path.join(HISTORIES_DIR, file), 'utf8')) as object,
  );
  await Worker.runReplayHistory({ workflowBundle: bundle, replayName: file, sinks }, history, path.basename(file));
  expect(exported.getFinishedSpans()).toEqual([]);
});
