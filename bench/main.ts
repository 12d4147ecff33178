/**
 * `npm run bench [-- --quick] [-- --servers stock,tuned,tuned:local-tools] [-- --out DIR] [-- --sections latency,floor,sweep,history,rss,restart]`
 *
 * What durability costs the desk, measured against an in-process loop of the same agents, model
 * step and tools (bench/in-process-desk.ts) in the same run, the two alternating. For each server
 * setting (the dev server's own defaults, `stock`, and the launcher's TUNED_DYNAMIC_CONFIG, `tuned`)
 * a private dev server is started, a worker runs in this process, and the model is a stub on
 * loopback (bench/model-stub.ts, a child process) at 0 ms and at 300 ms. Writes results.json,
 * results.md and chart.png into .data/bench/ (git-ignored). Loopback only; every loop is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { bundleWorkflowCode } from '@temporalio/worker';

import { TUNED_DYNAMIC_CONFIG, TUNED_SQLITE_PRAGMAS, type DynamicConfigValue } from '../scripts/dev-server';
import { PROJECT_DIR, TEMPORAL_CLI_VERSION } from '../scripts/temporal-binaries';
import { WORKFLOWS_PATH, installRuntime } from '../worker/worker';
import { DEFAULT_WORKFLOW_TASK_SLOTS, workflowTaskSlotsFromEnv } from '../worker/slots';
import {
  breakdowns,
  checkFloorShape,
  floorSection,
  historySection,
  runningChildren,
  latencySection,
  restartSection,
  rssSection,
  sweepSection,
  type BreakdownSample,
  type HistoryPoint,
  type ReplayCost,
  type RestartResult,
  type RssResult,
  type SweepResult,
  type TurnSample,
} from './measure';
import { renderChart, renderMarkdown, type BenchResults } from './report';
import { BenchShop, checkSeed } from './scenarios';
import { benchActivities, inProcessSystem, startDeskSystem } from './systems';
import { floorSteps, startFloorSystem } from './floor/system';
import {
  ABSENT_EXECUTION,
  EXECUTION_MODES,
  WORKFLOW_TASK_TIMEOUT_MS,
  isExecutionMode,
  type ExecutionMode,
} from '../workflows/messages';

/** How a dev server is started: its dynamic config and its database's pragmas. */
export interface ServerSetting {
  dynamicConfig: Readonly<Record<string, DynamicConfigValue>>;
  sqlitePragmas: Readonly<Record<string, string>>;
}

const TUNED: ServerSetting = { dynamicConfig: TUNED_DYNAMIC_CONFIG, sqlitePragmas: TUNED_SQLITE_PRAGMAS };
const tunedWith = (
  dynamicConfig: Record<string, DynamicConfigValue>,
  sqlitePragmas: Record<string, string> = {},
): ServerSetting => ({
  dynamicConfig: { ...TUNED.dynamicConfig, ...dynamicConfig },
  sqlitePragmas: { ...TUNED.sqlitePragmas, ...sqlitePragmas },
});

/**
 * Named dev-server settings the benchmark can run; `stock` (what the launcher did before issue 11:
 * the dev server's and SQLite's own defaults) and `tuned` (the launcher's defaults now) by default.
 * The others were used to find out what helps: `--servers stock,tuned,no-wal,...`.
 */
export const SERVER_SETTINGS: Record<string, ServerSetting> = {
  stock: { dynamicConfig: {}, sqlitePragmas: {} },
  tuned: TUNED,
  // Tuned but for one thing, to see what each part is worth.
  'no-transfer': {
    dynamicConfig: { 'system.enableActivityEagerExecution': true },
    sqlitePragmas: TUNED_SQLITE_PRAGMAS,
  },
  'eager-off': tunedWith({ 'system.enableActivityEagerExecution': false }),
  'no-wal': { dynamicConfig: TUNED_DYNAMIC_CONFIG, sqlitePragmas: {} },
  'sync-full': tunedWith({}, { synchronous: 'full' }),
  // Candidates that were not adopted (see the README's Performance section).
  'one-partition': tunedWith({ 'matching.numTaskqueueReadPartitions': 1, 'matching.numTaskqueueWritePartitions': 1 }),
  'all-queues': tunedWith({
    'history.timerProcessorMaxPollRPS': 1000,
    'history.visibilityProcessorMaxPollRPS': 1000,
    'history.outboundProcessorMaxPollRPS': 1000,
  }),
};

const SECTIONS = ['latency', 'floor', 'sweep', 'history', 'rss', 'restart'] as const;
type Section = (typeof SECTIONS)[number];

interface Plan {
  mode: 'quick' | 'full';
  servers: string[];
  sections: Section[];
  out: string;
  rounds: Record<number, number>;
  sweep: { levels: number[]; latencyMs: number; durationMs: number; maxTurns: number };
  historyCheckpoints: number[];
  rssConversations: number;
  restart: { conversations: number; turns: number; variants: { slots: number; workflowTaskTimeoutMs?: number }[] };
}

function parseArgs(argv: string[]): Plan {
  const quick = argv.includes('--quick');
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const withValue = ['--servers', '--out', '--sections', '--levels'];
  const known = new Set(['--quick', ...withValue]);
  for (const [i, a] of argv.entries()) {
    if (a.startsWith('--') && !known.has(a))
      throw new Error(
        `unknown option ${a}; options: --quick, --servers a,b, --out DIR, --sections ${SECTIONS.join(',')}, --levels 1,10,50,200`,
      );
    if (!a.startsWith('--') && !withValue.includes(argv[i - 1] ?? '')) throw new Error(`unexpected argument ${a}`);
  }
  // Quick mode leaves out 200 at once: the desk's first turns alone take about a minute there.
  const levels = (value('--levels') ?? (quick ? '1,10,50' : '1,10,50,200')).split(',').map(Number);
  if (levels.some((l) => !Number.isInteger(l) || l < 1 || l > 500))
    throw new Error('--levels takes whole numbers from 1 to 500');
  // `tuned:local` is the tuned server with conversations in that execution mode; without one, `activities`.
  const servers = (value('--servers') ?? 'stock,tuned,tuned:local').split(',').filter(Boolean);
  for (const s of servers) {
    const { setting } = splitPhase(s);
    if (!SERVER_SETTINGS[setting])
      throw new Error(`unknown server setting ${setting}; known: ${Object.keys(SERVER_SETTINGS).join(', ')}`);
  }
  const sections = (value('--sections') ?? SECTIONS.join(',')).split(',').filter(Boolean) as Section[];
  for (const s of sections)
    if (!SECTIONS.includes(s)) throw new Error(`unknown section ${s}; known: ${SECTIONS.join(', ')}`);
  return {
    mode: quick ? 'quick' : 'full',
    servers,
    sections,
    out: path.resolve(value('--out') ?? path.join(PROJECT_DIR, '.data', 'bench')),
    rounds: quick ? { 0: 5, 300: 2 } : { 0: 20, 300: 6 },
    sweep: { levels, latencyMs: 0, durationMs: quick ? 2000 : 10_000, maxTurns: quick ? 600 : 3000 },
    historyCheckpoints: quick ? [1, 10, 30] : [1, 10, 30, 90],
    rssConversations: quick ? 100 : 1000,
    // Before (the SDK's 40 slots, Temporal's 10 s task timeout), then the desk's settings (the
    // conversations' mode's timeout); quick mode's runs are too short to time out.
    restart: {
      conversations: quick ? 8 : 20,
      turns: quick ? 20 : 90,
      variants: [{ slots: 40, workflowTaskTimeoutMs: 10_000 }, { slots: DEFAULT_WORKFLOW_TASK_SLOTS }],
    },
  };
}

/** `tuned:local-tools` -> the server setting and the conversations' execution mode (checked). */
function splitPhase(phase: string): { setting: string; execution?: ExecutionMode } {
  const [setting = '', execution] = phase.split(':');
  if (execution === undefined) return { setting };
  if (!isExecutionMode(execution))
    throw new Error(`unknown execution mode ${execution}; known: ${EXECUTION_MODES.join(', ')}`);
  return { setting, execution };
}

function startStub(): Promise<{ baseURL: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'model-stub-main.ts')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready (\S+)/.exec(out);
      if (m) resolve({ baseURL: m[1]!, child });
    });
    child.once('exit', (code) => reject(new Error(`the model stub exited (${code}): ${out}`)));
  });
}

const t0 = Date.now();
const log = (line: string) => console.log(`[bench ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);

async function main(): Promise<void> {
  const plan = parseArgs(process.argv.slice(2));
  checkSeed();
  installRuntime('ERROR');
  log(
    `${plan.mode} run: servers ${plan.servers.join(', ')}; sections ${plan.sections.join(', ')}; ${os.cpus().length} cores, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const loadBefore = os.loadavg();
  const workflowTaskSlots = workflowTaskSlotsFromEnv();
  log(`the desk's worker runs ${workflowTaskSlots} workflow tasks at once (DESK_WORKFLOW_TASK_SLOTS)`);
  // Every temporary file of this run (shop, dev-server database, worker's shop) under one folder,
  // removed at the end or on Ctrl-C: os.tmpdir() reads TMPDIR, and the children inherit it.
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'desk-bench-run-'));
  process.env.TMPDIR = runDir;
  process.on('exit', () => fs.rmSync(runDir, { recursive: true, force: true }));
  const stub = await startStub();
  runningChildren.add(stub.child);
  // Ctrl-C: the launcher stops its dev server on its own; the stub and a worker child are ours to stop.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const child of runningChildren) child.kill('SIGTERM');
      console.error(`\n[bench] ${signal}: stopped, nothing written`);
      process.exit(130);
    });
  }
  log(`model stub at ${stub.baseURL}`);
  const shop = await BenchShop.open();
  const inProcess = inProcessSystem(benchActivities(shop, stub.baseURL).inProcess);
  log('bundling the workflow code once for every server...');
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} },
  });

  const latency: (TurnSample & { phase: string })[] = [];
  const floor: (TurnSample & { phase: string })[] = [];
  const sweep: (SweepResult & { phase: string })[] = [];
  const breakdown: (BreakdownSample & { phase: string })[] = [];
  let history: HistoryPoint[] = [];
  let rss: RssResult | undefined;
  let replay: ReplayCost | undefined;
  const restart: RestartResult[] = [];
  try {
    for (const [index, name] of plan.servers.entries()) {
      const { setting, execution } = splitPhase(name);
      const label = `desk (${name})`;
      log(`--- ${label}: starting a dev server with ${JSON.stringify(SERVER_SETTINGS[setting])}`);
      const desk = await startDeskSystem({
        label,
        ...SERVER_SETTINGS[setting]!,
        ...(execution && { execution }),
        activities: (client) => benchActivities(shop, stub.baseURL).desk(client),
        workflowBundle,
        log: () => undefined,
        // As `npm run worker` reads it (worker/slots.ts), so a run can measure another slot count.
        workflowTaskSlots,
      });
      try {
        const systems = [inProcess, desk];
        if (plan.sections.includes('latency')) {
          for (const latencyMs of [0, 300]) {
            log(
              `  latency: the three scenarios, model ${latencyMs} ms, ${plan.rounds[latencyMs]} rounds, ${systems.map((s) => s.name).join(' / ')} alternating`,
            );
            await shop.reset();
            const samples = await latencySection(systems, shop, stub.baseURL, latencyMs, plan.rounds[latencyMs]!, log);
            latency.push(...samples.map((x) => ({ ...x, phase: name })));
            breakdown.push(...(await breakdowns(desk, samples, 10)).map((x) => ({ ...x, phase: name })));
            await desk.endAll();
          }
        }
        if (plan.sections.includes('floor')) {
          const mode = execution ?? ABSENT_EXECUTION;
          log(
            `  floor: the three scenarios' activities doing nothing (${mode}), model 0 ms, ${plan.rounds[0]} rounds, beside ${systems.map((s) => s.name).join(' / ')}`,
          );
          const floorSystem = await startFloorSystem({
            address: desk.server.address,
            execution: mode,
            workflowTaskSlots,
          });
          try {
            await shop.reset();
            const samples = await floorSection(systems, floorSystem, shop, stub.baseURL, plan.rounds[0]!, log);
            await checkFloorShape(desk, samples, (s) => floorSteps(s, mode));
            floor.push(...samples.map((x) => ({ ...x, phase: name })));
          } finally {
            await floorSystem.close();
          }
          await desk.endAll();
        }
        if (plan.sections.includes('sweep')) {
          log(
            `  sweep: ${plan.sweep.levels.join(' / ')} customers at once, refunds, model ${plan.sweep.latencyMs} ms, ${plan.sweep.durationMs / 1000} s each`,
          );
          const levels = await sweepSection(
            systems,
            shop,
            stub.baseURL,
            { ...plan.sweep, beforeLevel: async () => void (await desk.endAll()) },
            log,
          );
          sweep.push(...levels.map((x) => ({ ...x, phase: name })));
          await desk.endAll();
        }
        // History size and worker memory do not depend on the server's settings: measured once, on the last.
        const last = index === plan.servers.length - 1;
        if (last && plan.sections.includes('history')) {
          log(
            `  history: one conversation to turn ${Math.max(...plan.historyCheckpoints)}, sizes at turns ${plan.historyCheckpoints.join(', ')}`,
          );
          await shop.reset();
          const measured = await historySection(
            desk,
            inProcess,
            shop,
            stub.baseURL,
            plan.historyCheckpoints,
            log,
            workflowBundle,
          );
          history = measured.points;
          replay = measured.replay;
          await desk.endAll();
        }
        if (last && plan.sections.includes('rss')) {
          log(`  rss: a worker process with ${plan.rssConversations} idle conversations`);
          rss = await rssSection(desk, stub.baseURL, plan.rssConversations, log);
          log(
            `    worker RSS ${rss.rssIdleWorkerMiB.toFixed(0)} MiB idle -> ${rss.rssWithConversationsMiB.toFixed(0)} MiB with ${rss.conversations} conversations`,
          );
        }
        if (last && plan.sections.includes('restart')) {
          const { conversations, turns } = plan.restart;
          for (const variant of plan.restart.variants) {
            const { slots } = variant;
            const workflowTaskTimeoutMs =
              variant.workflowTaskTimeoutMs ?? WORKFLOW_TASK_TIMEOUT_MS[execution ?? ABSENT_EXECUTION];
            log(
              `  restart: ${conversations} conversations to turn ${turns}, a worker restart, one message each; ${slots} workflow tasks at once, ${workflowTaskTimeoutMs / 1000} s task timeout`,
            );
            await shop.reset();
            restart.push(
              await restartSection(
                desk,
                shop,
                stub.baseURL,
                { slots, workflowTaskTimeoutMs, conversations, turns, answerTimeoutMs: 180_000 },
                log,
              ),
            );
          }
        }
      } finally {
        await desk.close();
      }
    }
  } finally {
    stub.child.kill('SIGTERM');
    await shop.close();
  }

  const results: BenchResults = {
    meta: {
      date: new Date().toISOString(),
      mode: plan.mode,
      cores: os.cpus().length,
      node: process.version,
      temporalCli: TEMPORAL_CLI_VERSION,
      loadAverageBefore: loadBefore,
      loadAverageAfter: os.loadavg(),
      durationSeconds: (Date.now() - t0) / 1000,
      workflowTaskSlots,
    },
    servers: plan.servers.map((name) => ({
      name,
      label: `desk (${name})`,
      ...SERVER_SETTINGS[splitPhase(name).setting]!,
    })),
    latency,
    ...(floor.length > 0 && { floor }),
    sweep,
    breakdown,
    history,
    ...(replay && { replay }),
    rss,
    ...(restart.length > 0 && { restart }),
  };
  fs.mkdirSync(plan.out, { recursive: true });
  fs.writeFileSync(path.join(plan.out, 'results.json'), JSON.stringify(results, null, 2));
  const markdown = renderMarkdown(results);
  fs.writeFileSync(path.join(plan.out, 'results.md'), markdown);
  fs.writeFileSync(path.join(plan.out, 'chart.png'), await renderChart(results));
  console.log(`\n${markdown}`);
  log(`wrote ${path.relative(process.cwd(), plan.out) || '.'}/results.json, results.md, chart.png`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`[bench] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
